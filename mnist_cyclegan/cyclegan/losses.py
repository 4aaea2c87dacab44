"""CycleGAN's losses: least-squares GAN for D and G, and the L1 cycle and identity terms."""

from __future__ import annotations

import torch

from mnist_cyclegan.cyclegan.networks import minus_median
from mnist_cyclegan.cyclegan.palette import with_palette


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN for D: (D(real) − 1)² + D(fake)², each averaged over the score map and batch."""
    return (real_scores - 1).square().mean() + fake_scores.square().mean()


def generator_gan_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN for G: (D(G(x)) − 1)²: the generator wants its fakes scored as real."""
    return (fake_scores - 1).square().mean()


def l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error: the cycle (x ≈ F(G(x))) and identity (y ≈ G(y)) losses."""
    return (output - target).abs().mean()


def as_input(images: torch.Tensor, channels: int) -> torch.Tensor | None:
    """`images` as a generator with `channels` input channels takes them, where no information
    is lost: unchanged, or grey repeated into RGB (a grey digit is an RGB image whose channels
    agree). RGB to grey would lose the colour the identity term is meant to keep, so: None."""
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
    """CycleGAN's identity term |F(x) − x| for a generator F into x's domain that takes
    `channels`-channel inputs: fed an image that already belongs there, it should change
    nothing. It ties the output to the input's exact pixel values, which the GAN and cycle
    losses alone leave loose. Zero where x cannot be fed to F without loss (see `as_input`).
    A two-tone F paints with x's own `palette`."""
    source = as_input(target, channels)
    if source is None:
        return target.new_zeros(())
    return l1(with_palette(generator, source, palette).float(), target)


INK_FLOOR = 0.1  # an output whose strongest ink is fainter than this reads as faint, not as ink


def ink(images: torch.Tensor) -> torch.Tensor:
    """Where the figure is, whatever colours a domain paints it in: each pixel's largest
    distance from its image's background colour (the per-channel median), scaled by the image's
    strongest ink and saturating at half of it. N×1×H×W in [0, 1]; grey and RGB alike.

    White on black, white on a colour and a colour on white all give the digit's outline, so
    the maps of an input and of its translation can be compared across domains."""
    distance = minus_median(images.float()).abs().amax(dim=1, keepdim=True)
    peak = distance.flatten(1).amax(dim=1).clamp(min=INK_FLOOR)[:, None, None, None]
    return (2.0 * distance / peak).clamp(max=1.0)


def shape_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """|ink(G(x)) − ink(x)|: the translation keeps the input's figure where it is. Not in the
    reference design (an option, `--lambda-shape`): it answers what the cycle alone does not,
    a pair of generators that hide the digit in the colours and draw another (issue 18)."""
    return l1(ink(fake), ink(real))
