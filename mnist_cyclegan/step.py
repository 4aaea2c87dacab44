"""One CycleGAN optimisation step, read top to bottom.

As junyanz/pytorch-CycleGAN-and-pix2pix orders it: translate both ways, update the generators
with the discriminators frozen, then update the discriminators on real images and (pooled) fakes.
The losses come back as one detached tensor so the loop never waits for the device. On a CPU,
each update's two independent halves can run side by side on two threads (chains.py): the
`…_side_by_side` functions compute the same losses and gradients as the plain ones above them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from mnist_cyclegan.chains import chains_pay, run_side_by_side
from mnist_cyclegan.losses import ImagePool, discriminator_loss, generator_gan_loss, l1
from mnist_cyclegan.model import Networks
from mnist_cyclegan.settings import TrainSettings

LOSS_NAMES = ("g_total", "g_gan_ab", "g_gan_ba", "cycle", "identity", "d_a", "d_b")


def autocast_for(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cycle_noise(shape: torch.Size, std: float, device: torch.device) -> torch.Tensor | None:
    """Noise for a fake before the cycle translates it back (Chu et al., 2017, "CycleGAN, a
    master of steganography"): colour → grey loses information, and without noise the grey
    generator learns to hide the colour in a faint background texture for the cycle loss. Noise
    stronger than that texture makes hiding useless, so backgrounds stay clean. Drawn in fp32
    and in element order, so it does not depend on precision or memory layout."""
    return std * torch.randn(shape, device=device) if std > 0 else None


def jitter(images: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    return images if noise is None else images + noise


def as_input(images: torch.Tensor, channels: int) -> torch.Tensor | None:
    """`images` as a generator with `channels` input channels takes them, where no information
    is lost: unchanged, or grey repeated into RGB (a grey digit is an RGB image whose channels
    agree). RGB to grey would lose the colour the identity term is meant to keep, so: None."""
    if images.shape[1] == channels:
        return images
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1)
    return None


def identity_losses(
    nets: Networks, real_a: torch.Tensor, real_b: torch.Tensor, settings: TrainSettings
) -> torch.Tensor:
    """|G(b) − b| + |F(a) − a|, where b or a fits as input; zero with the term off."""
    if settings.lambda_identity == 0:
        return real_a.new_zeros(())
    return identity_loss(nets.g_ab, real_b, real_a.shape[1]) + identity_loss(
        nets.g_ba, real_a, real_b.shape[1]
    )


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


def update_generators(
    nets: Networks, real_a: torch.Tensor, real_b: torch.Tensor, settings: TrainSettings
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Fill the generators' `.grad`; return both fakes and [g_total, gan_ab, gan_ba, cycle,
    identity]."""
    with autocast_for(real_a.device, settings.precision):
        fake_b = nets.g_ab(real_a)  # G(a)
        noise_b = cycle_noise(fake_b.shape, settings.cycle_noise, fake_b.device)
        rec_a = nets.g_ba(jitter(fake_b, noise_b))  # F(G(a)) ≈ a
        fake_a = nets.g_ba(real_b)  # F(b)
        noise_a = cycle_noise(fake_a.shape, settings.cycle_noise, fake_a.device)
        rec_b = nets.g_ab(jitter(fake_a, noise_a))  # G(F(b)) ≈ b
        gan_ab = generator_gan_loss(nets.d_b(fake_b).float())  # (D_B(G(a)) − 1)²
        gan_ba = generator_gan_loss(nets.d_a(fake_a).float())  # (D_A(F(b)) − 1)²
        cycle = l1(rec_a.float(), real_a) + l1(rec_b.float(), real_b)  # |F(G(a))−a| + |G(F(b))−b|
        identity = identity_losses(nets, real_a, real_b, settings)
        g_total = gan_ab + gan_ba + settings.lambda_cycle * cycle
        g_total = g_total + settings.lambda_identity * identity
    for param in nets.generators():
        param.grad = None
    g_total.backward()
    return fake_a.detach(), fake_b.detach(), [g_total, gan_ab, gan_ba, cycle, identity]


def update_discriminators(
    nets: Networks,
    pools: tuple[ImagePool, ImagePool],
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    fake_a: torch.Tensor,
    fake_b: torch.Tensor,
    settings: TrainSettings,
) -> list[torch.Tensor]:
    """Fill the discriminators' `.grad`; return [d_a, d_b]."""
    pool_a, pool_b = pools
    with autocast_for(real_a.device, settings.precision):
        d_a = discriminator_loss(  # (D_A(a) − 1)² + D_A(F(b))²
            nets.d_a(real_a).float(), nets.d_a(pool_a.query(fake_a)).float()
        )
        d_b = discriminator_loss(  # (D_B(b) − 1)² + D_B(G(a))²
            nets.d_b(real_b).float(), nets.d_b(pool_b.query(fake_b)).float()
        )
    for param in nets.discriminators():
        param.grad = None
    (d_a + d_b).backward()
    return [d_a, d_b]


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
    side_by_side: bool | None = None,
) -> torch.Tensor:
    """Update G_ab, G_ba then D_a, D_b once; return the losses named in LOSS_NAMES.

    `side_by_side` (default: where it pays, chains.py) runs each update's halves on two CPU
    threads. With the identity term the generators' halves do not balance (it adds a third
    generator pass to the second), yet side by side still measured faster (BENCHMARKS.md)."""
    if side_by_side is None:
        side_by_side = chains_pay(real_a.device)

    # 1. Generators, with the discriminators frozen.
    set_requires_grad((nets.d_a, nets.d_b), False)
    if side_by_side:
        fake_a, fake_b, g_losses = update_generators_side_by_side(nets, real_a, real_b, settings)
    else:
        fake_a, fake_b, g_losses = update_generators(nets, real_a, real_b, settings)
    if poison:  # test hook: make this step's update non-finite, as a diverging run would
        g_losses[0] = g_losses[0] * float("nan")
        for param in nets.generators():
            param.grad.mul_(float("nan"))
    if average is not None:  # data-parallel: mean gradient over all processes
        average(nets.generators())
    opt_g.step()

    # 2. Discriminators, on real images and on (pooled) fakes that carry no generator gradient.
    set_requires_grad((nets.d_a, nets.d_b), True)
    update_d = update_discriminators_side_by_side if side_by_side else update_discriminators
    d_losses = update_d(nets, pools, real_a, real_b, fake_a, fake_b, settings)
    if average is not None:
        average(nets.discriminators())
    opt_d.step()

    return torch.stack([*g_losses, *d_losses]).detach().float()


def chain_grads(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, params, allow_unused=True, materialize_grads=True))


def set_grads(params: list[torch.nn.Parameter], *grads: list[torch.Tensor]) -> None:
    """`.grad` = the sum of each chain's gradient, added in a fixed order and laid out like its
    parameter (fused Adam walks parameter, gradient and moments as flat memory)."""
    for i, param in enumerate(params):
        first = grads[0][i]
        if first.stride() != param.stride():
            first = torch.empty_like(param).copy_(first)
        for more in grads[1:]:
            first.add_(more[i])
        param.grad = first


def update_generators_side_by_side(
    nets: Networks, real_a: torch.Tensor, real_b: torch.Tensor, settings: TrainSettings
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """`update_generators` as a → b → a beside b → a → b, the identity term in the second."""
    device, precision, params = real_a.device, settings.precision, nets.generators()
    noise_b, noise_a = (  # drawn here, in update_generators' order: threads would race for it
        cycle_noise(real.shape, settings.cycle_noise, real.device) for real in (real_b, real_a)
    )

    def a_to_b_to_a():
        with autocast_for(device, precision):
            fake_b = nets.g_ab(real_a)  # G(a)
            rec_a = nets.g_ba(jitter(fake_b, noise_b))  # F(G(a)) ≈ a
            gan_ab = generator_gan_loss(nets.d_b(fake_b).float())  # (D_B(G(a)) − 1)²
            cycle_a = l1(rec_a.float(), real_a)  # |F(G(a)) − a|
            total = gan_ab + settings.lambda_cycle * cycle_a
        return fake_b.detach(), gan_ab, cycle_a, total, chain_grads(total, params)

    def b_to_a_to_b():
        with autocast_for(device, precision):
            fake_a = nets.g_ba(real_b)  # F(b)
            rec_b = nets.g_ab(jitter(fake_a, noise_a))  # G(F(b)) ≈ b
            gan_ba = generator_gan_loss(nets.d_a(fake_a).float())  # (D_A(F(b)) − 1)²
            cycle_b = l1(rec_b.float(), real_b)  # |G(F(b)) − b|
            identity = identity_losses(nets, real_a, real_b, settings)  # after, as above
            total = gan_ba + settings.lambda_cycle * cycle_b
            total = total + settings.lambda_identity * identity
        return fake_a.detach(), gan_ba, cycle_b, identity, total, chain_grads(total, params)

    first, second = run_side_by_side(a_to_b_to_a, b_to_a_to_b, nets.named().values())
    fake_b, gan_ab, cycle_a, total_a, grads_a = first
    fake_a, gan_ba, cycle_b, identity, total_b, grads_b = second
    set_grads(params, grads_a, grads_b)
    return fake_a, fake_b, [total_a + total_b, gan_ab, gan_ba, cycle_a + cycle_b, identity]


def update_discriminators_side_by_side(
    nets: Networks,
    pools: tuple[ImagePool, ImagePool],
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    fake_a: torch.Tensor,
    fake_b: torch.Tensor,
    settings: TrainSettings,
) -> list[torch.Tensor]:
    """`update_discriminators` as D_A beside D_B (each pool draws from its own generator)."""

    def update(d: torch.nn.Module, real: torch.Tensor, pool: ImagePool, fake: torch.Tensor):
        with autocast_for(real.device, settings.precision):  # (D(real) − 1)² + D(fake)²
            loss = discriminator_loss(d(real).float(), d(pool.query(fake)).float())
        return loss, chain_grads(loss, list(d.parameters()))

    pool_a, pool_b = pools
    (d_a, grads_a), (d_b, grads_b) = run_side_by_side(
        lambda: update(nets.d_a, real_a, pool_a, fake_a),
        lambda: update(nets.d_b, real_b, pool_b, fake_b),
        [nets.d_b],  # the only module the second half runs
    )
    set_grads(list(nets.d_a.parameters()), grads_a)
    set_grads(list(nets.d_b.parameters()), grads_b)
    return [d_a, d_b]
