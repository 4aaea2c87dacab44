"""Domain rendering on the real embedded MNIST: the reference rule bit for bit, and blend."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mnist_cyclegan.data import domain_arrays, load_mnist
from mnist_cyclegan.domains import draw_colors, render

EXPECTED_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}


def test_embedded_mnist_is_the_real_thing():
    mnist = load_mnist()
    for key, digest in EXPECTED_SHA256.items():
        assert hashlib.sha256(getattr(mnist, key).tobytes()).hexdigest() == digest, key
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(mnist.y_test).tolist() == counts
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def reference_threshold(grey: np.ndarray, domain: str, color: np.ndarray) -> np.ndarray:
    """The reference rule, one image and one pixel at a time, written plainly."""
    out = np.zeros((28, 28, 3), dtype=np.uint8)
    for y in range(28):
        for x in range(28):
            for c in range(3):
                value = int(grey[y, x])
                if domain == "colored-background":
                    out[y, x, c] = color[c] if value < 127.5 else value
                else:
                    out[y, x, c] = color[c] if value >= 127.5 else 255
    return out


@pytest.mark.parametrize("domain", ["colored-background", "colored-digit"])
def test_threshold_is_bit_exact_against_the_reference_rule(domain):
    grey = load_mnist().x_test[:1000]
    colors = draw_colors(1000, seed=7)
    fast = render(grey, domain, colors, "threshold")
    for i in range(1000):
        assert np.array_equal(fast[i], reference_threshold(grey[i], domain, colors[i])), i
    rgb = np.repeat(grey[..., None], 3, -1)
    ink = rgb >= 127.5
    expected = (
        np.where(ink, rgb, colors[:, None, None, :])
        if domain == "colored-background"
        else np.where(ink, colors[:, None, None, :], 255)
    )
    assert np.array_equal(fast, expected.astype(np.uint8))


def test_colors_are_integers_below_255_and_seeded():
    colors = draw_colors(70000, seed=0)
    assert colors.dtype == np.uint8 and colors.shape == (70000, 3)
    assert colors.max() == 254 and colors.min() == 0
    assert np.array_equal(colors, draw_colors(70000, seed=0))
    assert not np.array_equal(colors, draw_colors(70000, seed=1))


@pytest.mark.parametrize("domain", ["colored-background", "colored-digit"])
def test_blend_inverts_to_the_grey_digit_given_its_colours(domain):
    grey = load_mnist().x_test[:1000]
    colors = draw_colors(1000, seed=3)
    blended = render(grey, domain, colors, "blend").astype(np.float64)
    white = np.full((1000, 3), 255.0)
    fg, bg = (white, colors.astype(float)) if domain == "colored-background" else (colors, white)
    contrast = fg - bg
    best = np.abs(contrast).argmax(axis=1)  # invert through the channel with the most contrast
    rows = np.arange(1000)
    span = contrast[rows, best]
    channel = blended[rows, :, :, best]
    recovered = (channel - bg[rows, best][:, None, None]) / span[:, None, None] * 255.0
    error = np.abs(recovered - grey.astype(float)).max(axis=(1, 2))
    # rounding to uint8 costs at most half a level of the output, i.e. 127.5/|span| grey levels
    strong = np.abs(span) >= 128
    assert strong.mean() > 0.8
    assert error[strong].max() <= 1.0
    assert np.all(error <= 127.5 / np.abs(span) + 1e-9)


@pytest.mark.parametrize("domain", ["mnist", "colored-background", "colored-digit"])
@pytest.mark.parametrize("style", ["threshold", "blend"])
def test_domain_arrays_shapes_dtypes_and_ranges(domain, style):
    arrays = domain_arrays(domain, style=style, seed=0)
    channels = 1 if domain == "mnist" else 3
    tail = (28, 28) if channels == 1 else (28, 28, 3)
    assert arrays.x_train.shape == (60000, *tail) and arrays.x_test.shape == (10000, *tail)
    assert arrays.x_train.dtype == np.uint8 and arrays.y_train.dtype == np.uint8
    assert arrays.channels == channels
    assert arrays.x_test.max() == 255
    if domain == "colored-digit":
        assert (arrays.x_test == 255).mean() > 0.7  # the background turned white
    if domain == "colored-background":
        assert len(np.unique(arrays.x_test[:, 0, 0, :], axis=0)) > 9000  # one colour per image
