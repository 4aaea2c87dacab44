"""`long_skip` (not in the reference): the stem's full-resolution features are added to the
body's output, so stroke geometry need not survive the 7×7 bottleneck: translating a digit
mostly means keeping its strokes where they are. Part of the quick preset since its first
design (docs/measurements.md, "The quick preset"); tests/test_nets.py shows the skip
carrying the input past a silenced decoder."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mnist_cyclegan.settings.fields import ADDITIONS, Flag, boolean, setting
from mnist_cyclegan.variants.variant import Variant


@dataclass(frozen=True)
class LongSkipSettings:
    long_skip: bool = setting(
        False, boolean(), Flag("Add the stem's features to the decoder's.", ADDITIONS)
    )


def join(decoded: torch.Tensor, stem: torch.Tensor) -> torch.Tensor:
    """The body's output with the stem's features added (same width and size)."""
    return decoded + stem


VARIANT = Variant(
    name="long skip",
    net_settings=LongSkipSettings,
    is_on=lambda settings: settings.net.long_skip,
)
