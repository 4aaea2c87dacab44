"""One CycleGAN optimisation step, read top to bottom.

As junyanz/pytorch-CycleGAN-and-pix2pix orders it: translate both ways, update the generators
with the discriminators frozen, then update the discriminators on real images and (pooled) fakes.
The losses come back as one detached tensor so the loop never waits for the device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from mnist_cyclegan.losses import ImagePool, discriminator_loss, generator_gan_loss, l1
from mnist_cyclegan.model import Networks
from mnist_cyclegan.settings import TrainSettings

LOSS_NAMES = ("g_total", "g_gan_ab", "g_gan_ba", "cycle", "identity", "d_a", "d_b")


def autocast_for(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def jitter(images: torch.Tensor, std: float) -> torch.Tensor:
    """Noise on a fake before the cycle translates it back (Chu et al., 2017, "CycleGAN, a
    master of steganography"): colour → grey loses information, and without noise the grey
    generator learns to hide the colour in a faint background texture for the cycle loss. Noise
    stronger than that texture makes hiding useless, so backgrounds stay clean."""
    if std == 0:
        return images
    return images + std * torch.randn_like(images)


def as_input(images: torch.Tensor, channels: int) -> torch.Tensor | None:
    """`images` as a generator with `channels` input channels takes them, where no information
    is lost: unchanged, or grey repeated into RGB (a grey digit is an RGB image whose channels
    agree). RGB to grey would lose the colour the identity term is meant to keep, so: None."""
    if images.shape[1] == channels:
        return images
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1)
    return None


def identity_loss(generator: torch.nn.Module, target: torch.Tensor, channels: int) -> torch.Tensor:
    """CycleGAN's identity term |G(y) − y| for a generator into y's domain: fed an image that
    already belongs there, it should change nothing. It ties the output to the input's exact
    pixel values, which the GAN and cycle losses alone leave loose. Zero where y cannot be fed
    to the generator without loss (see `as_input`)."""
    source = as_input(target, channels)
    if source is None:
        return target.new_zeros(())
    return l1(generator(source).float(), target)


def set_requires_grad(modules, flag: bool) -> None:
    for module in modules:
        for parameter in module.parameters():
            parameter.requires_grad_(flag)


def train_step(
    nets: Networks,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    pools: tuple[ImagePool, ImagePool],
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    settings: TrainSettings,
    poison: bool = False,
    average: Callable[[list[torch.nn.Parameter]], None] | None = None,
) -> torch.Tensor:
    """Update G_ab, G_ba then D_a, D_b once; return the losses named in LOSS_NAMES."""
    amp = autocast_for(real_a.device, settings.precision)
    zero = real_a.new_zeros(())

    # 1. Generators, with the discriminators frozen.
    set_requires_grad((nets.d_a, nets.d_b), False)
    with amp:
        fake_b = nets.g_ab(real_a)  # G(a)
        rec_a = nets.g_ba(jitter(fake_b, settings.cycle_noise))  # F(G(a)) ≈ a
        fake_a = nets.g_ba(real_b)  # F(b)
        rec_b = nets.g_ab(jitter(fake_a, settings.cycle_noise))  # G(F(b)) ≈ b
        gan_ab = generator_gan_loss(nets.d_b(fake_b).float())  # (D_B(G(a)) − 1)²
        gan_ba = generator_gan_loss(nets.d_a(fake_a).float())  # (D_A(F(b)) − 1)²
        cycle = l1(rec_a.float(), real_a) + l1(rec_b.float(), real_b)  # |F(G(a))−a| + |G(F(b))−b|
        identity = zero
        if settings.lambda_identity > 0:  # |G(b) − b| + |F(a) − a|, where b or a fits as input
            identity = identity_loss(nets.g_ab, real_b, real_a.shape[1]) + identity_loss(
                nets.g_ba, real_a, real_b.shape[1]
            )
        g_total = gan_ab + gan_ba + settings.lambda_cycle * cycle
        g_total = g_total + settings.lambda_identity * identity
    if poison:  # test hook: make this step's update non-finite, as a diverging run would
        g_total = g_total * float("nan")
    opt_g.zero_grad(set_to_none=True)
    g_total.backward()
    if average is not None:  # data-parallel: mean gradient over all processes
        average(nets.generators())
    opt_g.step()

    # 2. Discriminators, on real images and on (pooled) fakes that carry no generator gradient.
    set_requires_grad((nets.d_a, nets.d_b), True)
    pool_a, pool_b = pools
    with amp:
        d_a = discriminator_loss(  # (D_A(a) − 1)² + D_A(F(b))²
            nets.d_a(real_a).float(), nets.d_a(pool_a.query(fake_a.detach())).float()
        )
        d_b = discriminator_loss(  # (D_B(b) − 1)² + D_B(G(a))²
            nets.d_b(real_b).float(), nets.d_b(pool_b.query(fake_b.detach())).float()
        )
    opt_d.zero_grad(set_to_none=True)
    (d_a + d_b).backward()
    if average is not None:
        average(nets.discriminators())
    opt_d.step()

    return torch.stack([g_total, gan_ab, gan_ba, cycle, identity, d_a, d_b]).detach().float()
