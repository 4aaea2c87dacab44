"""`mnistgan export --format onnx`: a graph onnxruntime runs to PyTorch's numbers on real
digits, at 28×28 and other sizes, with its preprocessing inside."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import torch
from conftest import TINY, assert_one_line_error, run_cli
from typer.testing import CliRunner

from mnist_cyclegan import Translator
from mnist_cyclegan.data import domain_arrays


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A quick-design model, so the export covers the median offset and the two-tone output
    (its palette picked by a hash of the input's pixels inside the graph)."""
    out = tmp_path_factory.mktemp("export") / "run"
    args = ["train", "--preset", "quick", "--out", out, "--steps", "3", *TINY]
    result = run_cli(CliRunner(), *args)
    assert result.exit_code == 0, result.output
    return out / "weights.safetensors"


def session(path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_float32_graph_matches_pytorch_to_1e_4_on_256_digits_and_another_size(
    runner, tmp_path, weights, direction
):
    out = tmp_path / f"{direction}.onnx"
    result = run_cli(runner, "export", weights, "--out", out, "--direction", direction,
                     "--io", "float32")  # fmt: skip
    assert result.exit_code == 0, result.output
    translator = Translator.load(weights)
    domain, seed = ("mnist", 0) if direction == "a2b" else ("colored-background", 1)
    digits = domain_arrays(domain, seed=seed).x_test[:256]
    digits = digits[..., None] if digits.ndim == 3 else digits
    model = session(out)
    name = model.get_inputs()[0].name
    for batch in (digits, np.repeat(np.repeat(digits[:8], 2, axis=1), 3, axis=2)[:, :50, :70]):
        images = (batch / 255.0).astype(np.float32)
        got = model.run(None, {name: images})[0]
        tensor = torch.from_numpy(images).permute(0, 3, 1, 2)
        want = translator.translate(tensor, direction).permute(0, 2, 3, 1).numpy()
        assert got.shape == want.shape == (len(batch), *batch.shape[1:3], want.shape[-1])
        assert np.abs(got - want).max() <= 1e-4


def test_uint8_graph_takes_and_gives_images_as_files_hold_them(runner, tmp_path, weights):
    out = tmp_path / "a2b.onnx"
    assert run_cli(runner, "export", weights, "--out", out).exit_code == 0
    digits = domain_arrays("mnist", seed=0).x_test[:32, :, :, None]
    model = session(out)
    got = model.run(None, {model.get_inputs()[0].name: digits})[0]
    want = Translator.load(weights).translate_uint8(digits[..., 0], "a2b")
    assert got.dtype == np.uint8 and got.shape == want.shape == (32, 28, 28, 3)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_export_refuses_clearly(runner, tmp_path, weights):
    assert_one_line_error(run_cli(runner, "export", weights, "--out", tmp_path / "x.onnx",
                                  "--format", "tflite"), "--format")  # fmt: skip
    assert_one_line_error(run_cli(runner, "export", weights, "--out", weights, "--force"),
                          "is an input")  # fmt: skip
    assert_one_line_error(run_cli(runner, "export", weights, "--out", tmp_path / "x.onnx",
                                  "--direction", "up"), "direction")  # fmt: skip
    assert not (tmp_path / "x.onnx").exists()
