"""Colour on request: `translate --color` and `Translator.a2b(x, color=...)` paint a two-tone
model's output, the background into colored-background and the digit into colored-digit;
elsewhere the request is refused with one line."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli
from PIL import Image

from mnist_cyclegan import Translator
from mnist_cyclegan.colour_request import parse_colour
from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.errors import MnistganError

ORANGE = np.array([255, 136, 0])


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_mnist().x_test[:16]


def background_and_figure(image: np.ndarray, digit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median colour where the MNIST digit is black and where it is bright ink."""
    return np.median(image[digit < 10], axis=0), np.median(image[digit > 200], axis=0)


def test_parse_colour_reads_hex_tuples_and_random():
    assert parse_colour("#ff8800") == (1.0, 136 / 255, 0.0)
    assert parse_colour("F80") == (1.0, 136 / 255, 0.0)
    assert parse_colour((0, 255, 0)) == (0.0, 1.0, 0.0)
    assert parse_colour("random") is None and parse_colour(None) is None
    for bad in ("#ff88", "orange", "#gg0000", (256, 0, 0), (1, 2)):
        with pytest.raises(MnistganError):
            parse_colour(bad)


def test_into_colored_background_the_background_takes_the_colour(digits):
    translator = Translator.load("mnist-colored-background")
    for digit in digits:
        out = translator.a2b(digit, color="#ff8800")
        background, figure = background_and_figure(out, digit)
        assert np.abs(background - ORANGE).max() <= 6, background
        assert figure.min() > 200, figure  # the digit stays white


def test_into_colored_digit_the_digit_takes_the_colour(digits):
    translator = Translator.load("mnist-colored-digit")
    for digit in digits:
        out = translator.a2b(digit, color=(255, 136, 0))
        background, figure = background_and_figure(out, digit)
        assert np.abs(figure - ORANGE).max() <= 6, figure
        assert background.min() > 245, background  # the paper stays white


def test_random_is_the_models_own_pick_and_a_chosen_colour_is_the_same_for_every_input(digits):
    translator = Translator.load("mnist-colored-background")
    own = [translator.a2b(d)[0, 0] for d in digits]
    again = [translator.a2b(d, color="random")[0, 0] for d in digits]
    assert all((a == o).all() for a, o in zip(again, own, strict=True))
    assert len({tuple(o) for o in own}) > 8  # the bank's colours vary with the input
    chosen = {tuple(translator.a2b(d, color="#3366cc")[0, 0]) for d in digits}
    assert len(chosen) == 1


def test_translate_color_through_the_cli(runner, tmp_path, digits):
    Image.fromarray(digits[0]).save(tmp_path / "d.png")
    result = run_cli(runner, "translate", "colored-background-colored-digit", tmp_path / "d.png",
                     tmp_path / "cb.png", "--direction", "b2a", "--color", "#00aa00")  # fmt: skip
    assert result.exit_code == 0, result.output
    background, _ = background_and_figure(np.asarray(Image.open(tmp_path / "cb.png")), digits[0])
    assert np.abs(background - [0, 170, 0]).max() <= 6, background


def test_a_colour_is_refused_where_there_is_none_to_choose(runner, tmp_path, digits, weights):
    coloured = Translator.load("mnist-colored-background").a2b(digits[0])
    Image.fromarray(coloured).save(tmp_path / "cb.png")
    Image.fromarray(digits[0]).save(tmp_path / "d.png")
    into_grey = run_cli(runner, "translate", "mnist-colored-background", tmp_path / "cb.png",
                        tmp_path / "o.png", "--color", "#ff8800")  # fmt: skip
    assert_one_line_error(into_grey, "--color #ff8800", "mnist")
    reference = run_cli(runner, "translate", weights, tmp_path / "d.png", tmp_path / "o.png",
                        "--color", "#ff8800")  # fmt: skip
    assert_one_line_error(reference, "--color #ff8800", "no palette")
    bad = run_cli(runner, "translate", "mnist-colored-digit", tmp_path / "d.png",
                  tmp_path / "o.png", "--color", "orange")  # fmt: skip
    assert_one_line_error(bad, "'orange'", "#rrggbb")
    assert not (tmp_path / "o.png").exists()
    with pytest.raises(MnistganError, match="no palette"):
        Translator.load(weights).a2b(digits[0], color="#ff8800")
