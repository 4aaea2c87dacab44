"""The script behind BENCHMARKS.md's own-set rows: own_pairs.py sets the train flags after `--`
apart from its own and turns a run's printout into the published row, figure by figure. Its
training and scoring are `mnistgan train` and `eval`, tested on their own."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def script(name: str):
    """A benchmark script as a module, loaded from its file (benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCORES = {
    "accuracy": 0.9432, "accuracy_ceiling": 0.989, "target_domain_share": 0.9814,
    "target_domain_share_real": 0.9997, "frechet_classifier_distance": 5.4798,
    "frechet_classifier_distance_real": 2.8418, "kernel_set_distance": 0.0169,
    "kernel_set_distance_real": 0.0004, "adaptation_accuracy": 0.984,
    "adaptation_source_only": 0.9857, "adaptation_target_only": 0.989, "cycle_psnr": 15.949,
    "cycle_ssim": 0.5192,
}  # fmt: skip
UNLABELLED = {
    "target_domain_share": 0.5, "target_domain_share_real": 0.99, "kernel_set_distance": 0.2,
    "kernel_set_distance_real": 0.001, "cycle_psnr": 20.0, "cycle_ssim": 0.8,
}  # fmt: skip


def test_the_flags_after_dashes_are_set_apart_for_train_even_after_an_option():
    argv = ["run", "pairs", "mnist:mnist-m", "0", "--split", "val", "--", "--res-blocks", "6"]
    split_at_dashes = script("own_pairs").split_at_dashes
    assert split_at_dashes(argv) == (argv[:6], ["--res-blocks", "6"])
    assert split_at_dashes(["build", "pairs"]) == (["build", "pairs"], [])


def test_table_prints_each_direction_of_a_printout_as_its_row(tmp_path):
    summary = {"pair": "mnist:mnist-m", "seed": 2, "split": "test", "train_s": 471, "flags": []}
    log = tmp_path / "s2.log"
    log.write_text(
        "quick preset on your data: median offset off\n"
        f"{json.dumps(summary)}\nb2a {json.dumps(SCORES)}\na2b {json.dumps(UNLABELLED)}\n"
    )
    script = [sys.executable, str(BENCHMARKS / "own_pairs.py"), "table", str(log)]
    printed = subprocess.run(script, capture_output=True, text=True, check=True).stdout
    rows = printed.splitlines()
    assert rows[0].startswith("| pair | seed | direction | digit acc. % (ceiling)")
    assert rows[2] == (
        "| mnist ↔ mnist-m | 2 (test) | mnist-m → mnist | 94.32 (98.90) | 98.14 (99.97) "
        "| 5.48 (2.84) | 0.0169 (0.0004) | 98.40 (98.57 / 98.90) | 15.95 dB / 0.519 | 471 s |"
    )
    assert rows[3] == (
        "| mnist ↔ mnist-m | 2 (test) | mnist → mnist-m | – | 50.00 (99.00) | – "
        "| 0.2000 (0.0010) | – | 20.00 dB / 0.800 | 471 s |"
    )
    assert len(rows) == 4


def test_table_names_the_peer_and_its_steps_in_the_pair_cell(tmp_path):
    summary = {
        "peer": "pytorch-CycleGAN-and-pix2pix", "pair": "mnist:mnist-m", "seed": 0,
        "split": "test", "steps": 629, "train_s": 600,
    }  # fmt: skip
    log = tmp_path / "peer.log"
    log.write_text(f"initialize network with normal\n{json.dumps(summary)}\n"
                   f"a2b {json.dumps(UNLABELLED)}\n")  # fmt: skip
    script = [sys.executable, str(BENCHMARKS / "own_pairs.py"), "table", str(log)]
    rows = subprocess.run(script, capture_output=True, text=True, check=True).stdout.splitlines()
    assert rows[2] == (
        "| mnist ↔ mnist-m, pytorch-CycleGAN-and-pix2pix (629 steps) | 0 (test) | mnist → mnist-m "
        "| – | 50.00 (99.00) | – | 0.2000 (0.0010) | – | 20.00 dB / 0.800 | 600 s |"
    )
