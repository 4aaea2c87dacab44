"""One CycleGAN optimisation step, as the design reads: the generators with the discriminators
frozen (forward, loss, backward, step), then the discriminators (losses, backward, step).

In junyanz/pytorch-CycleGAN-and-pix2pix's order (`forward`, `backward_G`, `backward_D_A`,
`backward_D_B`). The trainer runs the same step split into halves (fast/halves.py), so that
additions can plug in and the halves can run side by side; tests/test_halves.py holds that
step to this one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch
from torch import nn

from mnist_cyclegan.cyclegan.losses import discriminator_loss, generator_gan_loss, l1
from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.cyclegan.pool import ImagePool

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import TrainSettings

# The losses a step returns, by name, in the order a run's loss log has them.
GENERATOR_LOSSES = ("g_total", "g_gan_ab", "g_gan_ba", "cycle")
DISCRIMINATOR_LOSSES = ("d_a", "d_b")


def train_step(
    nets: Networks,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    pools: tuple[ImagePool, ImagePool],
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    settings: TrainSettings,
) -> dict[str, torch.Tensor]:
    """Update G_ab, G_ba, then D_a, D_b once; return the losses by name, detached."""
    opt_g, opt_d = optimizers
    with autocast_for(real_a.device, settings.precision):
        # 1. Generators, with the discriminators frozen.
        set_requires_grad((nets.d_a, nets.d_b), False)
        opt_g.zero_grad(set_to_none=True)
        fake_b = nets.g_ab(real_a)  # G(a)
        rec_a = nets.g_ba(fake_b)  # F(G(a)) ≈ a
        fake_a = nets.g_ba(real_b)  # F(b)
        rec_b = nets.g_ab(fake_a)  # G(F(b)) ≈ b
        gan_ab = generator_gan_loss(nets.d_b(fake_b).float())  # (D_b(G(a)) − 1)²
        gan_ba = generator_gan_loss(nets.d_a(fake_a).float())  # (D_a(F(b)) − 1)²
        cycle = l1(rec_a.float(), real_a) + l1(rec_b.float(), real_b)  # |F(G(a)) − a| + ...
        g_total = gan_ab + gan_ba + settings.lambda_cycle * cycle
        g_total.backward()
        opt_g.step()

        # 2. Discriminators, on real images and on (pooled) fakes that carry no G gradient.
        set_requires_grad((nets.d_a, nets.d_b), True)
        opt_d.zero_grad(set_to_none=True)
        fake_a_seen = pools[0].query(fake_a.detach())
        fake_b_seen = pools[1].query(fake_b.detach())
        d_a = discriminator_loss(nets.d_a(real_a).float(), nets.d_a(fake_a_seen).float())
        d_b = discriminator_loss(nets.d_b(real_b).float(), nets.d_b(fake_b_seen).float())
        (d_a + d_b).backward()  # (D(real) − 1)² + D(fake)², each discriminator its own
        opt_d.step()
    losses = (g_total, gan_ab, gan_ba, cycle, d_a, d_b)
    names = GENERATOR_LOSSES + DISCRIMINATOR_LOSSES
    return {name: loss.detach().float() for name, loss in zip(names, losses, strict=True)}


def set_requires_grad(modules: Iterable[nn.Module], flag: bool) -> None:
    for module in modules:
        for parameter in module.parameters():
            parameter.requires_grad_(flag)


def autocast_for(device: torch.device, precision: str):
    """bf16 autocast where the run asks for it (the reference computes in fp32)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def build_optimizers(
    nets: Networks, settings: TrainSettings, device: torch.device
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for the generators together and for the discriminators together.

    Fused (PyTorch has it for CPU and CUDA tensors): one kernel per parameter group instead of
    a dozen small ops per tensor. It walks parameters and moments as flat memory, which is why
    a checkpoint restores moments in their parameter's layout.
    """
    options: dict = {"lr": settings.lr, "betas": (settings.beta1, settings.beta2)}
    if device.type in ("cpu", "cuda"):
        options["fused"] = True
    return (
        torch.optim.Adam(nets.generators(), **options),
        torch.optim.Adam(nets.discriminators(), **options),
    )
