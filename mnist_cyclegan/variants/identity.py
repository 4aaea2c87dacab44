"""The identity term (the CycleGAN paper's, Zhu et al. 2017, section 5; not in the reference
design we implement): a generator fed an image already in its output domain should change nothing,
|F(x) − x|. It ties outputs to the input's exact pixel values, which the GAN and cycle losses alone
leave loose. Between a grey and an RGB domain only one half applies: a grey image repeated into RGB
is a valid input of the RGB → grey generator; RGB turned grey would lose the colour the term is
meant to keep. The quick preset weighs it 5 on mnist ↔ colored-background and 0 on the pairs with
colored-digit, where copying is wrong (settings/presets.py); tests/test_train.py checks both halves.
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
class IdentitySettings:
    lambda_identity: float = term_weight("Identity term weight, |F(x) − x|.")


def as_input(images: torch.Tensor, channels: int) -> torch.Tensor | None:
    """`images` as a generator with `channels` input channels takes them, where no information
    is lost: unchanged, or grey repeated into RGB. RGB to grey: None."""
    if images.shape[1] == channels:
        return images
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1)
    return None


def identity_loss(
    generator: torch.nn.Module,
    target: torch.Tensor,
    channels: int,
    palette: torch.Tensor | None = None,
) -> torch.Tensor:
    """|F(x) − x| for a generator F into x's domain that takes `channels`-channel inputs; zero
    where x cannot be fed to F without loss. A two-tone F paints with x's own `palette`."""
    source = as_input(target, channels)
    if source is None:
        return target.new_zeros(())
    return l1(with_palette(generator, source, palette).float(), target)


def identity_term(settings: TrainSettings, context: HalfContext) -> Term:
    """|F(x) − x| for the half-cycle's F, a two-tone F painting with x's own palette."""

    def value(g, f, real_x, fake_y) -> torch.Tensor:
        return identity_loss(f, real_x, fake_y.shape[1], context.palette_own)  # |F(x) − x|

    return Term("identity", settings.lambda_identity, value)


VARIANT = Variant(
    name="identity term",
    train_settings=IdentitySettings,
    is_on=lambda settings: bool(settings.lambda_identity),
    changes_step=True,
    logged=("identity",),
    term=identity_term,
)
