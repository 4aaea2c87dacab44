"""Every pair of domains translates with the quick preset: a short run per pair, its
outputs judged by the domain check, and the preset's per-pair choices."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_cli

from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.settings.resolve import Given, settings_for_new_run
from mnist_cyclegan.variants.two_tone import off_the_line
from mnist_cyclegan.weights import load_generators

PAIRS = [
    ("mnist", "colored-background"),
    ("mnist", "colored-digit"),
    ("colored-background", "colored-digit"),
]
SHORT = ["--gen-width", "8", "--res-blocks", "1", "--disc-width", "8", "--batch-size", "16"]
SHORT += ["--train-digits", "640", "--steps", "120", "--device", "cpu"]


@pytest.mark.parametrize(("domain_a", "domain_b"), PAIRS)
def test_a_short_quick_run_moves_outputs_into_the_target_domain(
    runner, tmp_path, domain_a, domain_b
):
    out = tmp_path / "run"
    args = [
        "train",
        "--out",
        out,
        "--preset",
        "quick",
        "--domain-a",
        domain_a,
        "--domain-b",
        domain_b,
    ]
    result = run_cli(runner, *args, *SHORT)
    assert result.exit_code == 0, result.output
    json_out = tmp_path / "scores.json"
    args = ["eval", out / "weights.safetensors", "--limit", "300", "--json", json_out]
    scored = run_cli(runner, *args, "--device", "cpu")
    assert scored.exit_code == 0, scored.output
    scores = json.loads(json_out.read_text())
    for direction in ("a2b", "b2a"):
        values = scores[direction]
        # Inputs score ~0 in the target domain; a copy would stay in the source domain.
        assert values["target_domain_share_input"] < 0.05, (direction, values)
        assert values["target_domain_share"] > max(0.5, values["source_domain_share"]), (
            direction, values
        )  # fmt: skip
        assert values["accuracy"] > 0.5, (direction, values)  # the digit survives
    g_ab, g_ba, _ = load_generators(out / "weights.safetensors")
    for generator, source, target in ((g_ab, domain_a, domain_b), (g_ba, domain_b, domain_a)):
        if "colored-digit" not in (source, target):
            assert generator.shaded is None  # the preset keeps the shade
            continue
        # Into colored-digit, two flat colours, it draws by coverage alone.
        assert float(generator.shaded) == (0.0 if target == "colored-digit" else 1.0)
        if target == "colored-digit":
            inputs = channels_first(domain_arrays(source, seed=5).x_test[:64]).float() / 255
            palette = generator.palette_bank[:64]
            with torch.no_grad():
                painted = generator.eval()(inputs, palette)
            assert off_the_line(painted, palette).amax() < 1e-4


@pytest.mark.parametrize(("domain_a", "domain_b"), PAIRS[1:])
def test_the_quick_preset_does_not_copy_inputs_on_pairs_that_change_the_figure(domain_a, domain_b):
    for a, b in ((domain_a, domain_b), (domain_b, domain_a)):
        settings = settings_for_new_run("quick", Given({"domain_a": a, "domain_b": b}, {}))
        assert settings.net.head == "two-tone" and settings.lambda_identity == 0
        assert settings.net.flat_figures
        assert settings.lambda_shape == (0.0 if "mnist" in (a, b) else 2.0)
        flagged = settings_for_new_run(
            "quick",
            Given({"domain_a": a, "domain_b": b, "lambda_identity": 2.0}, {"head": "attention"}),
        )
        assert flagged.net.head == "attention" and flagged.lambda_identity == 2.0  # flags win
    default = settings_for_new_run("quick", Given({}, {}))
    assert default.net.head == "two-tone" and default.lambda_identity == 5.0
    assert default.lambda_shape == 0
