"""Show that each finding of the design audit (issue 16) has a test that fails on the old code.

For each finding, the old behaviour is put back into a copy of this tree (one exact text
replacement, which must match once, so the script fails loudly if the code moved) and the
finding's tests are run on that copy: they must fail there and pass on the tree as it is.

    python tools/audit_mutations.py            # every finding, a table at the end
    python tools/audit_mutations.py --only relu
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Finding:
    name: str
    what: str
    file: str
    old: str  # the text as it is now
    new: str  # the old behaviour
    tests: tuple[str, ...]


FINDINGS = (
    Finding(
        "relu", "residual block returns x + body(x)", "mnist_cyclegan/cyclegan/networks.py",
        "self.relu_after_sum = settings.residual_relu", "self.relu_after_sum = False",
        ("tests/test_design.py::test_residual_block_ends_with_relu_of_the_sum_in_the_reference",),
    ),
    Finding(
        "schedule", "reference preset trains on disjoint halves (468 steps an epoch)",
        "mnist_cyclegan/settings/schema.py",
        '"reference": {"pairing": "shuffled", "validation": False}',
        '"reference": {"validation": False}',
        ("tests/test_design.py::test_disjoint_pairing_is_the_default_and_disjoint",),
    ),
    Finding(
        "validation", "no validation split (training sees every digit)", "mnist_cyclegan/data.py",
        "size = min(VALIDATION_DIGITS, count // 10)", "size = 0",
        ("tests/test_validation.py::test_validation_digits_are_fixed_and_never_trained_on",),
    ),
    Finding(
        "eval-files", "eval scores a model trained on files on MNIST",
        "mnist_cyclegan/evaluation/eval_data.py",
        "data_a = given.data_a or (Path(recorded_a) if recorded_a else None)",
        "data_a = given.data_a",
        ("tests/test_eval_files.py::test_eval_scores_a_model_on_the_files_it_trained_on",),
    ),
    Finding(
        "joint-colour", "colour measured per channel only", "mnist_cyclegan/evaluation/metrics.py",
        "for direction in slice_directions()", "for direction in np.eye(3)",
        ("tests/test_metrics.py::test_grey_outputs_pass_per_channel_w1_but_not_the_joint_colour_measure",),  # noqa: E501
    ),
    Finding(
        "colour-class", "no measure of colour tied to the class",
        "mnist_cyclegan/evaluation/metrics.py",
        "return float(between / total)", "return 0.0",
        ("tests/test_eval.py::test_colours_tied_to_the_class_or_grey_show_in_the_joint_colour_measures",),  # noqa: E501
    ),
    Finding(
        "frechet", "a matrix square root right only for commuting covariances",
        "mnist_cyclegan/evaluation/metrics.py",
        "middle = torch.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a).clamp(min=0)",
        "middle = (torch.linalg.eigvalsh(cov_a) * torch.linalg.eigvalsh(cov_b)).clamp(min=0)",
        ("tests/test_metrics.py::test_frechet_distance_matches_scipy_with_unequal_covariances",),
    ),
    Finding(
        "psnr", "a wrong PSNR constant", "mnist_cyclegan/evaluation/metrics.py",
        "values = 10.0 * np.log10(255.0**2 / mse)", "values = 10.0 * np.log10(256.0**2 / mse)",
        ("tests/test_metrics.py::test_psnr_matches_scikit_image",),
    ),
    Finding(
        "ssim", "a wrong SSIM window (uniform)", "mnist_cyclegan/evaluation/metrics.py",
        "gauss = torch.exp(-(coords**2) / (2 * 1.5**2))", "gauss = torch.ones_like(coords)",
        ("tests/test_metrics.py::test_ssim_matches_scikit_images_gaussian_ssim",),
    ),
    Finding(
        "w1", "W1 as the difference of means (right on a shift)",
        "mnist_cyclegan/evaluation/metrics.py",
        "return float(np.sum(np.abs(cdf_u - cdf_v) * widths))",
        "return float(abs(u.mean() - v.mean()))",
        ("tests/test_metrics.py::test_wasserstein_1d_matches_scipy_on_unlike_distributions",),
    ),
    Finding(
        "init", "transposed convs left at PyTorch's init", "mnist_cyclegan/cyclegan/networks.py",
        "if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):",
        "if isinstance(layer, nn.Conv2d):",
        ("tests/test_design.py::test_initialisation_of_every_conv_transposed_conv_and_discriminator_layer",),  # noqa: E501
    ),
    Finding(
        "padding", "the odd pixel of 'same' padding before, not after",
        "mnist_cyclegan/cyclegan/layers.py",
        "return total // 2, total - total // 2", "return total - total // 2, total // 2",
        ("tests/test_design.py::test_same_padding_amounts_as_tensorflow_computes_them",),
    ),
    Finding(
        "ddp", "gradients summed over processes, not averaged",
        "mnist_cyclegan/training/distributed.py",
        "    flat /= world.size\n", "",
        ("tests/test_distributed_average.py",),
    ),
    Finding(
        "gan-loss", "a GAN loss of the wrong form", "mnist_cyclegan/cyclegan/losses.py",
        "return (fake_scores - 1).square().mean()", "return (fake_scores - 1).abs().mean()",
        ("tests/test_design.py::test_half_cycle_losses_by_hand",),
    ),
    Finding(
        "judges", "one discriminator judges the other domain's fakes",
        "mnist_cyclegan/fast/halves.py",
        "half(nets.g_ab, nets.g_ba, nets.d_b, real_a, noise_b)",
        "half(nets.g_ab, nets.g_ba, nets.d_a, real_a, noise_b)",
        ("tests/test_design.py::test_each_discriminator_judges_its_own_domain",),
    ),
    Finding(
        "d-grad", "the generator update also fills the discriminators' gradients",
        "mnist_cyclegan/fast/halves.py",
        "    params = nets.generators()\n",
        "    params = [*nets.generators(), *nets.d_a.parameters(), *nets.d_b.parameters()]\n",
        ("tests/test_design.py::test_no_discriminator_gradient_in_the_generator_update_and_none_the_other_way",),  # noqa: E501
    ),
    Finding(
        "pairing", "shuffled pairing by default (the same digits in both domains)",
        "mnist_cyclegan/settings/schema.py",
        'pairing: str = "disjoint"', 'pairing: str = "shuffled"',
        ("tests/test_design.py::test_disjoint_pairing_is_the_default_and_disjoint",),
    ),
)  # fmt: skip


def copy_tree(destination: Path) -> None:
    """The tracked and new files of this checkout (no build outputs, no caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    for name in listed:
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run_tests(tree: Path, tests: tuple[str, ...]) -> bool:
    """True when the tests pass on `tree` (its package first on the import path)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(command, cwd=tree, env=env, capture_output=True).returncode == 0


def mutate(tree: Path, finding: Finding) -> None:
    path = tree / finding.file
    text = path.read_text()
    if text.count(finding.old) != 1:
        raise SystemExit(f"{finding.name}: the text to replace is not in {finding.file} once")
    path.write_text(text.replace(finding.old, finding.new))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="names of the findings to check")
    args = parser.parse_args()
    chosen = [f for f in FINDINGS if not args.only or f.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "tree"
        copy_tree(tree)
        for finding in chosen:
            passes_now = run_tests(tree, finding.tests)
            original = (tree / finding.file).read_text()
            mutate(tree, finding)
            fails_before = not run_tests(tree, finding.tests)
            (tree / finding.file).write_text(original)
            rows.append((finding, passes_now, fails_before))
            print(f"{finding.name}: passes now {passes_now}, fails on the old code {fails_before}")
    print("\n| finding | old behaviour | test passes now | test fails on it |")
    print("| --- | --- | --- | --- |")
    for finding, passes_now, fails_before in rows:
        print(f"| {finding.name} | {finding.what} | {passes_now} | {fails_before} |")
    if not all(passes and fails for _, passes, fails in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
