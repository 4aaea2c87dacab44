"""The shape term (`--lambda-shape`, not in the reference): |ink(G(x)) − ink(x)|, the
translation keeps the input's figure where it is. It answers what the cycle alone does not, a pair
of generators that hide the digit in the colours and draw another: the quick preset weighs it 2 on
colored-background ↔ colored-digit, where without it one seed in three went wrong on validation
digits (settings/presets.py; docs/measurements.md, "Every pair of domains (fourth round)").
tests/test_design.py checks the term by hand, a colour figure's ink against its grey one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from mnist_cyclegan.cyclegan.losses import l1
from mnist_cyclegan.fast.halves import Term
from mnist_cyclegan.figures import figure_map, image_median
from mnist_cyclegan.settings.fields import term_weight
from mnist_cyclegan.variants.variant import HalfContext, Variant

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import TrainSettings


@dataclass(frozen=True)
class ShapeSettings:
    lambda_shape: float = term_weight("Shape term weight, the figure kept in place.")


def ink(images: torch.Tensor) -> torch.Tensor:
    """Where the figure is, whatever colours a domain paints it in: the figure map against the
    whole image's median colour (figures.py). N×1×H×W in [0, 1]; grey and RGB alike."""
    images = images.float()
    return figure_map(images, image_median(images))


def shape_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """|ink(G(x)) − ink(x)|."""
    return l1(ink(fake), ink(real))


def shape_term(settings: TrainSettings, context: HalfContext) -> Term:
    def value(g, f, real_x, fake_y) -> torch.Tensor:
        return shape_loss(fake_y, real_x)  # |ink(G(x)) − ink(x)|

    return Term("shape", settings.lambda_shape, value)


VARIANT = Variant(
    name="shape term",
    train_settings=ShapeSettings,
    is_on=lambda settings: bool(settings.lambda_shape),
    changes_step=True,
    logged=("shape",),
    term=shape_term,
)
