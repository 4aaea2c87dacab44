"""`Translator`: translate from Python with no files, every input kind, the CLI's own numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import run_cli
from PIL import Image

import mnist_cyclegan
from mnist_cyclegan import Translator
from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.errors import MnistganError


@pytest.fixture(scope="module")
def translator(weights):
    return Translator.load(weights)


def grey_digits(count: int = 4) -> np.ndarray:
    return domain_arrays("mnist", seed=0).x_test[:count]


def test_the_package_exports_translator():
    assert "Translator" in mnist_cyclegan.__all__ and mnist_cyclegan.Translator is Translator


def test_pil_images_come_back_as_pil_images_identical_to_the_cli(
    runner, tmp_path, weights, translator
):
    picture = Image.fromarray(grey_digits(1)[0]).resize((36, 30))
    picture.save(tmp_path / "in.png")
    result = run_cli(runner, "translate", weights, tmp_path / "in.png", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    out = translator.a2b(picture)
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (36, 30)
    assert np.array_equal(np.asarray(out), np.asarray(Image.open(tmp_path / "out.png")))
    back = translator.b2a(out)
    assert back.mode == "L" and back.size == (36, 30)


def test_uint8_arrays_grey_and_rgb(translator):
    grey = grey_digits(1)[0]
    coloured = translator.a2b(grey)
    assert coloured.dtype == np.uint8 and coloured.shape == (28, 28, 3)
    grey_again = translator.b2a(coloured)
    assert grey_again.dtype == np.uint8 and grey_again.shape == (28, 28)
    # an RGB input to the grey side is turned grey first, as translate does
    assert translator.a2b(np.repeat(grey[..., None], 3, axis=-1)).shape == (28, 28, 3)


def test_float_arrays_in_0_1_give_floats_matching_uint8_to_rounding(translator):
    grey = grey_digits(1)[0]
    as_float = translator.a2b(grey.astype(np.float32) / 255)
    assert as_float.dtype == np.float32 and as_float.shape == (28, 28, 3)
    assert 0 <= as_float.min() and as_float.max() <= 1
    as_uint8 = translator.a2b(grey)
    assert np.abs(np.rint(as_float * 255) - as_uint8).max() <= 1


def test_batch_tensors_float_and_uint8(translator):
    grey = torch.from_numpy(grey_digits(4))[:, None]
    out = translator.a2b(grey.float() / 255)
    assert out.shape == (4, 3, 28, 28) and out.dtype == torch.float32
    out8 = translator.a2b(grey)
    assert out8.shape == (4, 3, 28, 28) and out8.dtype == torch.uint8
    assert (torch.round(out * 255) - out8.float()).abs().max() <= 1
    wide = translator.b2a(torch.rand(2, 3, 20, 44))
    assert wide.shape == (2, 1, 20, 44)


def test_bad_inputs_are_one_clear_error(translator):
    for bad in (np.zeros((2, 28, 28, 3), np.uint8), np.zeros((28, 28), np.int16), "digit.png"):
        with pytest.raises(MnistganError):
            translator.a2b(bad)
    with pytest.raises(MnistganError, match="direction"):
        translator.translate(np.zeros((28, 28), np.uint8), "sideways")
    with pytest.raises(MnistganError, match="no such file, nor a model"):
        Translator.load("no-such-model")
