"""Every addition to the reference, one line each: what plugs a variant in.

Each line is the `VARIANT` its file declares (variant.py). The order is the order the
half-cycle sums further terms in (identity, shape, labels, task network, geometry, then patch
contrast), and so part of what a run computes, and the order the variants' settings follow the
reference's in the schema and in `train -h`.
tests/test_variants.py checks that every addition file is listed and that each names settings
that exist and columns the loss log has.
"""

from __future__ import annotations

from mnist_cyclegan.variants import (
    attention,
    cycle_noise,
    geometry,
    identity,
    keep_labels,
    long_skip,
    median_offset,
    patch_nce,
    shape_term,
    task_network,
    two_tone,
    weight_average,
)
from mnist_cyclegan.variants.variant import Variant

VARIANTS: tuple[Variant, ...] = (
    identity.VARIANT,
    shape_term.VARIANT,
    keep_labels.VARIANT,
    task_network.VARIANT,
    geometry.VARIANT,
    patch_nce.VARIANT,
    cycle_noise.VARIANT,
    attention.VARIANT,
    two_tone.VARIANT,
    long_skip.VARIANT,
    median_offset.VARIANT,
    weight_average.VARIANT,
)


def train_settings() -> tuple[type, ...]:
    """The settings the variants add to `TrainSettings`, in registry order."""
    return tuple(v.train_settings for v in VARIANTS if v.train_settings is not None)


def net_settings() -> tuple[type, ...]:
    """The settings the variants add to `NetSettings`, in registry order."""
    return tuple(v.net_settings for v in VARIANTS if v.net_settings is not None)


def heads() -> dict[str, type]:
    """The generator heads the variants add, by their `--head` names."""
    return dict(v.head for v in VARIANTS if v.head is not None)


def logged_columns() -> tuple[str, ...]:
    """The loss-log columns the variants add, in registry order."""
    return tuple(name for variant in VARIANTS for name in variant.logged)
