"""`median_offset` (not in the reference): the stem also reads each pixel's distance from its
image's per-channel median, which is the background colour (a digit covers under a fifth of
the image). The background then reads exactly 0 whatever its colour, and a digit whose greys
straddle a pale background (bright core, darker edge) reads positive throughout; a convolution
cannot find an image-wide median on its own. Part of the quick preset (docs/measurements.md,
"The quick preset"); tests/test_nets.py checks what the stem reads on real digits."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mnist_cyclegan.figures import minus_median
from mnist_cyclegan.settings.fields import ADDITIONS, Flag, boolean, setting
from mnist_cyclegan.variants.variant import Variant


@dataclass(frozen=True)
class MedianOffsetSettings:
    median_offset: bool = setting(
        False,
        boolean(),
        Flag("The generator also reads |input − its median colour|.", ADDITIONS),
    )


def stem_inputs(in_channels: int) -> int:
    """The stem's input channels: the image's and as many distances."""
    return 2 * in_channels


def with_offset(x: torch.Tensor, median: torch.Tensor | None = None) -> torch.Tensor:
    """x with |x − its per-channel median| beside it, N×2C×H×W (`median`: a whole image's,
    where x is a tile of it)."""
    return torch.cat([x, minus_median(x, median).abs()], dim=1)


VARIANT = Variant(
    name="median offset",
    net_settings=MedianOffsetSettings,
    is_on=lambda settings: settings.net.median_offset,
)
