"""Every addition to the reference, one line each: what plugs a variant in.

Each line is the `VARIANT` its file declares (variant.py). The order is the order the
half-cycle sums further terms in (identity, then shape), and so part of what a run computes.
tests/test_variants.py checks that every addition file is listed and that each names settings
that exist and columns the loss log has.
"""

from __future__ import annotations

from mnist_cyclegan.variants import (
    attention,
    cycle_noise,
    identity,
    long_skip,
    median_offset,
    shape_term,
    two_tone,
)
from mnist_cyclegan.variants.variant import Variant

VARIANTS: tuple[Variant, ...] = (
    identity.VARIANT,
    shape_term.VARIANT,
    cycle_noise.VARIANT,
    two_tone.VARIANT,
    attention.VARIANT,
    long_skip.VARIANT,
    median_offset.VARIANT,
)


def logged_columns() -> tuple[str, ...]:
    """The loss-log columns the variants add, in registry order."""
    return tuple(name for variant in VARIANTS for name in variant.logged)
