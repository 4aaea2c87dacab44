"""CUDA paths, run by benchmarks/gpu_check.sh on a GPU machine; skipped with a reason elsewhere."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY, run_cli
from safetensors.torch import load_file

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_cuda_writes_a_run_and_resumes(runner, tmp_path, precision):
    out = tmp_path / "run"
    args = ["train", "--out", out, "--device", "cuda", "--precision", precision, *TINY]
    assert run_cli(runner, *args, "--steps", "10").exit_code == 0
    resumed = run_cli(
        runner, "train", "--out", out, "--resume", "--steps", "20", "--device", "cuda"
    )
    assert resumed.exit_code == 0, resumed.output
    state = load_file(str(out / "checkpoint.safetensors"))
    assert int(state["opt_g.0.step"]) == 20
    assert all(torch.isfinite(v.float()).all() for k, v in state.items() if k.startswith("net."))


def test_translate_and_eval_on_cuda(runner, tmp_path):
    """With the quick preset's generator inputs (median offset, two-tone output) on the GPU."""
    out = tmp_path / "run"
    quick_inputs = ["--median-offset", "--head", "two-tone", "--lambda-identity", "5"]
    trained = run_cli(
        runner, "train", "--out", out, "--device", "cuda", *TINY, *quick_inputs, "--steps", "5"
    )
    assert trained.exit_code == 0, trained.output
    result = run_cli(
        runner, "eval", out / "weights.safetensors", "--limit", "200", "--device", "cuda"
    )
    assert result.exit_code == 0, result.output
