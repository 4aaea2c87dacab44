"""The four CycleGAN networks, their optimisers, and conversions between pixels and the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnist_cyclegan.nets import Discriminator, Generator, NetSettings
from mnist_cyclegan.settings import TrainSettings


@dataclass
class Networks:
    g_ab: Generator
    g_ba: Generator
    d_a: Discriminator
    d_b: Discriminator

    def named(self) -> dict[str, torch.nn.Module]:
        return {"G_ab": self.g_ab, "G_ba": self.g_ba, "D_a": self.d_a, "D_b": self.d_b}

    def generators(self) -> list[torch.nn.Parameter]:
        return [*self.g_ab.parameters(), *self.g_ba.parameters()]

    def discriminators(self) -> list[torch.nn.Parameter]:
        return [*self.d_a.parameters(), *self.d_b.parameters()]


def build_networks(
    net: NetSettings, channels_a: int, channels_b: int, seed: int, device: torch.device
) -> Networks:
    """Both generators and discriminators, initialised from `seed` alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets = Networks(
            g_ab=Generator(channels_a, channels_b, net),
            g_ba=Generator(channels_b, channels_a, net),
            d_a=Discriminator(channels_a, net),
            d_b=Discriminator(channels_b, net),
        )
    for module in nets.named().values():
        module.to(device).train()
    return nets


def build_optimizers(
    nets: Networks, settings: TrainSettings, device: torch.device
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for the generators together and for the discriminators together.

    Fused (PyTorch has it for CPU and CUDA tensors): one kernel per parameter group instead of
    a dozen small ops per tensor. It walks parameters and moments as flat memory, which is why
    checkpoint.restore_optimizer gives restored moments their parameter's layout.
    """
    options = {"lr": settings.lr, "betas": (settings.beta1, settings.beta2)}
    if device.type in ("cpu", "cuda"):
        options["fused"] = True
    return (
        torch.optim.Adam(nets.generators(), **options),
        torch.optim.Adam(nets.discriminators(), **options),
    )


def to_model(images: torch.Tensor, output: str) -> torch.Tensor:
    """uint8 N×C×H×W → float in the generator's output range ([0, 1] sigmoid, [-1, 1] tanh)."""
    scaled = images.float() / 255.0
    return scaled * 2.0 - 1.0 if output == "tanh" else scaled


def to_pixels(images: torch.Tensor, output: str) -> np.ndarray:
    """Model output → uint8 N×H×W (one channel) or N×H×W×3, rounded."""
    scaled = (images.float() + 1.0) / 2.0 if output == "tanh" else images.float()
    pixels = (scaled.clamp(0, 1) * 255.0).round().to(torch.uint8).cpu()
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels
