"""How each MNIST domain is rendered from plain grey digits (pure numpy, whole arrays at once).

Every domain is a deterministic function of the grey digit and one RGB colour per image, so the
same test digit exists in every domain. That is what lets `eval` compare a translation with its
ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_cyclegan.errors import MnistganError

DOMAINS: tuple[str, ...] = ("mnist", "colored-background", "colored-digit")
STYLES: tuple[str, ...] = ("threshold", "blend")
THRESHOLD = 127.5


@dataclass(frozen=True)
class Domain:
    """A domain's name and the number of channels its images have."""

    name: str
    channels: int


def get_domain(name: str) -> Domain:
    if name not in DOMAINS:
        raise MnistganError(f"unknown domain {name!r}: choose one of {', '.join(DOMAINS)}")
    return Domain(name=name, channels=1 if name == "mnist" else 3)


def check_style(style: str) -> str:
    if style not in STYLES:
        raise MnistganError(f"unknown style {style!r}: choose one of {', '.join(STYLES)}")
    return style


def draw_colors(count: int, seed: int) -> np.ndarray:
    """One RGB colour per image, integers in [0, 255) as the reference draws them."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, size=(count, 3), dtype=np.uint8)


def render(
    grey: np.ndarray, domain: str, colors: np.ndarray, style: str = "threshold"
) -> np.ndarray:
    """Render N grey uint8 digits (N×28×28) into `domain`: N×H×W for mnist, N×H×W×3 otherwise.

    `threshold` is the reference rule, bit-exact: colored-background replaces every channel value
    below 127.5 by the colour's value; colored-digit paints values >= 127.5 with the colour and the
    rest white. `blend` composites with the grey value as coverage, so anti-aliased edges survive.
    """
    get_domain(domain)
    check_style(style)
    if grey.dtype != np.uint8 or grey.ndim != 3:
        raise MnistganError(f"digits must be an N×H×W uint8 array, got {grey.dtype} {grey.shape}")
    if domain == "mnist":
        return grey.copy()
    if colors.shape != (len(grey), 3):
        raise MnistganError(f"need one RGB colour per image, got colours of shape {colors.shape}")
    if style == "threshold":
        # One channel at a time: a 2-D np.where per channel is ~2x faster than broadcasting
        # over a trailing axis of 3, and the rule is per channel anyway.
        ink = grey >= THRESHOLD
        out = np.empty((*grey.shape, 3), dtype=np.uint8)
        for channel in range(3):
            value = colors[:, channel, None, None].astype(np.uint8)
            if domain == "colored-background":
                out[..., channel] = np.where(ink, grey, value)
            else:
                out[..., channel] = np.where(ink, value, np.uint8(255))
        return out
    # blend: integer compositing per channel, out = round((g*fg + (255-g)*bg) / 255), exact.
    coverage = grey.astype(np.uint32)
    out = np.empty((*grey.shape, 3), dtype=np.uint8)
    for channel in range(3):
        value = colors[:, channel, None, None].astype(np.uint32)
        if domain == "colored-background":
            foreground, background = np.uint32(255), value
        else:
            foreground, background = value, np.uint32(255)
        mixed = coverage * foreground + (255 - coverage) * background
        out[..., channel] = (mixed + 127) // 255
    return out
