"""The reference CycleGAN networks: a ResNet generator and a PatchGAN discriminator.

Layer by layer as the reference (a Keras design) builds them, including its "same" padding, so
a 28×28 input keeps 28×28 through the generator and gives a 4×4 map of real/fake scores. Each
layer comes from a `Layers` factory (layers.py): PyTorch's own modules unless the trainer passes
the CPU speed kit's, which holds the same parameters under the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from mnist_cyclegan.cyclegan.layers import PLAIN, Layers, SamePad

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import NetSettings

STEM_LAYERS = 4  # the generator's first layers: reflect-pad, 7×7 conv, norm, ReLU


def norm_layer(channels: int, settings: NetSettings, layers: Layers) -> nn.Module:
    """Batch norm with Keras' decay and epsilon (PyTorch momentum = 1 − decay), or instance."""
    if settings.norm == "batch":
        return layers.batch_norm(channels, eps=settings.norm_eps, momentum=1.0 - settings.bn_decay)
    return nn.InstanceNorm2d(channels, eps=settings.norm_eps, affine=True)


class ResidualBlock(nn.Module):
    """Reflect-pad, 3×3 conv, norm, ReLU, reflect-pad, 3×3 conv, norm; then ReLU(x + that), as
    the reference ends it (with `residual_relu` off, x + that)."""

    def __init__(self, channels: int, settings: NetSettings, layers: Layers) -> None:
        super().__init__()
        self.body = nn.Sequential(
            layers.reflect_pad(1),
            layers.conv(channels, channels, 3),
            norm_layer(channels, settings, layers),
            nn.ReLU(inplace=True),
            layers.reflect_pad(1),
            layers.conv(channels, channels, 3),
            norm_layer(channels, settings, layers),
        )
        self.finish = nn.ReLU() if settings.residual_relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.finish(x + self.body(x))


def trunk_layers(in_channels: int, settings: NetSettings, layers: Layers) -> list[nn.Module]:
    """The generator up to its output layers: reflect-pad 3, 7×7 conv to w; 3×3 stride-2 convs
    to 2w and 4w; residual blocks at 4w; 3×3 stride-2 transposed convs back to 2w and w; each
    conv followed by norm and ReLU ("same" padding, so 28×28 stays 28×28)."""
    w = settings.gen_width

    def conv_norm_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
        return [conv, norm_layer(channels, settings, layers), nn.ReLU(inplace=True)]

    body: list[nn.Module] = [layers.reflect_pad(3)]
    body += conv_norm_relu(layers.image_conv(in_channels, w, 7), w)
    body += [SamePad(3, 2), *conv_norm_relu(layers.image_conv(w, 2 * w, 3, stride=2), 2 * w)]
    body += [SamePad(3, 2), *conv_norm_relu(layers.conv(2 * w, 4 * w, 3, stride=2), 4 * w)]
    body += [ResidualBlock(4 * w, settings, layers) for _ in range(settings.res_blocks)]
    body += conv_norm_relu(layers.upsample(4 * w, 2 * w), 2 * w)
    body += conv_norm_relu(layers.upsample(2 * w, w), w)
    return body


def output_layers(
    out_channels: int, settings: NetSettings, layers: Layers, activation: nn.Module | None
) -> list[nn.Module]:
    """Reflect-pad 3, 7×7 conv to the output channels, norm (`final_norm`), `activation`."""
    w = settings.gen_width
    tail = [layers.reflect_pad(3), layers.image_conv(w, out_channels, 7)]
    if settings.final_norm:
        tail += [norm_layer(out_channels, settings, layers)]
    return tail if activation is None else [*tail, activation]


ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class Generator(nn.Module):
    """The reference ResNet generator: `trunk_layers`, then `output_layers` ending in a sigmoid
    (or tanh), as one sequence, for settings that `is_reference`."""

    def __init__(
        self, in_channels: int, out_channels: int, settings: NetSettings, layers: Layers = PLAIN
    ) -> None:
        super().__init__()
        if not settings.is_reference():
            raise ValueError("these settings add to the reference: see variants/factory.py")
        activation = ACTIVATIONS[settings.output]()
        body = trunk_layers(in_channels, settings, layers)
        body += output_layers(out_channels, settings, layers, activation)
        self.model = nn.Sequential(*body)
        self.in_channels, self.out_channels = in_channels, out_channels
        initialise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Discriminator(nn.Module):
    """PatchGAN: 4×4 "same" convs 64 s2 (no norm), 128 s2, 256 s2, 512 s1, then 1 s1, leaky
    ReLU 0.2 between them and no final activation."""

    def __init__(self, in_channels: int, settings: NetSettings, layers: Layers = PLAIN) -> None:
        super().__init__()
        w = settings.disc_width

        def norm_leaky(channels: int) -> list[nn.Module]:
            return [norm_layer(channels, settings, layers), nn.LeakyReLU(0.2, inplace=True)]

        body: list[nn.Module] = [*layers.same_conv(in_channels, w, 4, 2)]
        body += [nn.LeakyReLU(0.2, inplace=True)]
        body += [*layers.same_conv(w, 2 * w, 4, 2), *norm_leaky(2 * w)]
        body += [*layers.small_map_conv(2 * w, 4 * w, 4, 2), *norm_leaky(4 * w)]
        body += [*layers.small_map_conv(4 * w, 8 * w, 4, 1), *norm_leaky(8 * w)]
        body += [*layers.same_conv(8 * w, 1, 4, 1)]
        self.model = nn.Sequential(*body)
        initialise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def initialise(module: nn.Module) -> None:
    """As the reference: conv weights ~ truncated normal (std 0.02, cut at 2 std), zero biases."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.trunc_normal_(layer.weight, mean=0.0, std=0.02, a=-0.04, b=0.04)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@dataclass
class Networks:
    """The four networks of a CycleGAN: G_ab: A → B, G_ba: B → A, and a discriminator per
    domain (D_a judges images of A, D_b images of B)."""

    g_ab: nn.Module  # Generator, or another class `build_networks` was given
    g_ba: nn.Module
    d_a: Discriminator
    d_b: Discriminator

    def named(self) -> dict[str, nn.Module]:
        """The networks under the names weight files and checkpoints store them by."""
        return {"G_ab": self.g_ab, "G_ba": self.g_ba, "D_a": self.d_a, "D_b": self.d_b}

    def generators(self) -> list[nn.Parameter]:
        return [*self.g_ab.parameters(), *self.g_ba.parameters()]

    def discriminators(self) -> list[nn.Parameter]:
        return [*self.d_a.parameters(), *self.d_b.parameters()]


def build_networks(
    net: NetSettings,
    channels_a: int,
    channels_b: int,
    seed: int,
    device: torch.device,
    layers: Layers = PLAIN,
    generator: Callable[..., nn.Module] = Generator,
) -> Networks:
    """Both generators and discriminators in training mode, initialised from `seed` alone (the
    same weights whichever `layers` builds them). `generator` builds each generator from
    (in_channels, out_channels, settings, layers): the reference's by default."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets = Networks(
            g_ab=generator(channels_a, channels_b, net, layers),
            g_ba=generator(channels_b, channels_a, net, layers),
            d_a=Discriminator(channels_a, net, layers),
            d_b=Discriminator(channels_b, net, layers),
        )
    for module in nets.named().values():
        module.to(device).train()
    return nets
