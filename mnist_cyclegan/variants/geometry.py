"""Geometry consistency (`--lambda-geometry`, not in the reference): GcGAN's term (Fu et al.,
"Geometry-Consistent Generative Adversarial Networks for One-Sided Unsupervised Domain Mapping",
CVPR 2019). A translation should commute with a quarter turn: |G(rot(x)) − rot(G(x))|, G's own
weights on both sides. The cycle loss alone lets a pair of generators relabel a digit as long as
the other undoes it, through patterns hidden in the output (Chu et al. 2017, "CycleGAN, a master
of steganography"); a code that a quarter turn must carry along too is much harder to keep.
It costs one more forward and backward of G on each half: 1.23–1.28× the quick step. Measured
on typed ↔ mnist (validation digits, seed 0, weight 10) it kept 48.0% and 46.9% of digits
against 50.3% and 54.4% without it, and on shapes-flat ↔ shapes-photo gained 8.3 points one way
and lost 10.2 the other, so no preset turns it on (docs/measurements.md, "A content term
without labels: geometry consistency"); tests/test_geometry.py checks it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from mnist_cyclegan.cyclegan.losses import l1
from mnist_cyclegan.fast.halves import Term
from mnist_cyclegan.settings.fields import term_weight
from mnist_cyclegan.variants.two_tone import with_palette
from mnist_cyclegan.variants.variant import HalfContext, Variant

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import TrainSettings


@dataclass(frozen=True)
class GeometrySettings:
    lambda_geometry: float = term_weight(
        "Geometry consistency weight (GcGAN), |G(rot(x)) − rot(G(x))| for a quarter turn."
    )


def quarter_turn(images: torch.Tensor) -> torch.Tensor:
    """N×C×H×W turned 90° anticlockwise: an exact permutation of pixels, undone by three more."""
    return torch.rot90(images, 1, dims=(2, 3))


def geometry_loss(
    generator: torch.nn.Module,
    real_x: torch.Tensor,
    fake_y: torch.Tensor,
    palette: torch.Tensor | None = None,
) -> torch.Tensor:
    """|G(rot(x)) − rot(G(x))| for G(x) = `fake_y`; a two-tone G paints the turned input with
    the same palette (a colour per image, which no turn changes)."""
    turned_fake = with_palette(generator, quarter_turn(real_x), palette)  # G(rot(x))
    return l1(turned_fake.float(), quarter_turn(fake_y).float())


def geometry_term(settings: TrainSettings, context: HalfContext) -> Term:
    def value(g, f, real_x, fake_y) -> torch.Tensor:
        return geometry_loss(g, real_x, fake_y, context.palette_target)

    return Term("geometry", settings.lambda_geometry, value)


VARIANT = Variant(
    name="geometry consistency",
    train_settings=GeometrySettings,
    is_on=lambda settings: bool(settings.lambda_geometry),
    changes_step=True,
    logged=("geometry",),
    term=geometry_term,
)
