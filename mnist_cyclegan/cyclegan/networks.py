"""The reference CycleGAN networks: a ResNet generator and a PatchGAN discriminator.

Layer by layer as the reference (a Keras design) builds them, including its "same" padding, so
a 28×28 input keeps 28×28 through the generator and gives a 4×4 map of real/fake scores. Each
layer comes from a `Layers` factory (layers.py): PyTorch's own modules unless the trainer passes
the CPU speed kit's, which holds the same parameters under the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mnist_cyclegan.config import NetSettings
from mnist_cyclegan.cyclegan.layers import PLAIN, Layers, SamePad
from mnist_cyclegan.cyclegan.palette import BANK_SIZE, bank_index, compose, figure_map


def norm_layer(channels: int, settings: NetSettings, layers: Layers) -> nn.Module:
    """Batch norm with Keras' decay and epsilon (PyTorch momentum = 1 − decay), or instance."""
    if settings.norm == "batch":
        return layers.batch_norm(channels, eps=settings.norm_eps, momentum=1.0 - settings.bn_decay)
    return nn.InstanceNorm2d(channels, eps=settings.norm_eps, affine=True)


def minus_median(x: torch.Tensor) -> torch.Tensor:
    """Each image minus its per-channel median: the background colour, as digits cover under a
    fifth of an MNIST image, so the background reads 0 whatever its colour."""
    flat = x.flatten(2)
    if torch.onnx.is_in_onnx_export():  # ONNX has no median: the same (lower) one, by sorting
        median = flat.sort(dim=2).values.narrow(2, (flat.shape[2] - 1) // 2, 1)[..., 0]
    else:
        median = flat.median(dim=2).values
    return x - median[:, :, None, None]


class ResidualBlock(nn.Module):
    """Reflect-pad, 3×3 conv, norm, ReLU, reflect-pad, 3×3 conv, norm; then ReLU(x + that), as
    the reference ends it (`residual_relu`; without it, x + that)."""

    def __init__(self, channels: int, settings: NetSettings, layers: Layers) -> None:
        super().__init__()
        self.relu_after_sum = settings.residual_relu
        self.body = nn.Sequential(
            layers.reflect_pad(1),
            layers.conv(channels, channels, 3),
            norm_layer(channels, settings, layers),
            nn.ReLU(inplace=True),
            layers.reflect_pad(1),
            layers.conv(channels, channels, 3),
            norm_layer(channels, settings, layers),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + self.body(x)
        return torch.relu(out) if self.relu_after_sum else out


class Generator(nn.Module):
    """Reflect-pad 3, 7×7 conv, two stride-2 3×3 convs down, residual blocks, two up, 7×7 out.

    With `long_skip` (not in the reference) the stem's full-resolution features are added to the
    last upsampling block's output, so stroke geometry does not have to survive the 7×7
    bottleneck: translating a digit mostly means keeping its strokes where they are.

    With `median_offset` (not in the reference) the stem also reads each pixel's distance from
    the image's per-channel median, which is its background colour (a digit covers under a
    fifth of the image). The background then reads exactly 0 whatever its colour, and a digit
    whose grey levels straddle a pale background (bright core, darker edge) reads positive
    throughout; a convolution cannot find an image-wide median on its own.

    With `attention_mask` (AttentionGAN's output, Tang et al. 2019; not in the reference) the
    last conv also predicts a per-pixel mask that mixes the generated image with the input
    itself (grey repeated into RGB, or RGB averaged to grey): the digit's core, whose grey
    levels the other domain keeps, can be copied exactly instead of redrawn.

    With `two_tone` (not in the reference) the last conv draws only the figure, a coverage and
    a shade, painted with a palette of the target domain's colours (see palette.py): given, as
    in training, or else from `palette_bank` (real palettes, stored with the weights). The
    stem's features also read the palette, as a bias per channel.
    """

    def __init__(
        self, in_channels: int, out_channels: int, settings: NetSettings, layers: Layers = PLAIN
    ) -> None:
        super().__init__()
        w = settings.gen_width

        def conv_norm_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
            return [conv, norm_layer(channels, settings, layers), nn.ReLU(inplace=True)]

        stem_inputs = 2 * in_channels if settings.median_offset else in_channels
        body: list[nn.Module] = [layers.reflect_pad(3)]
        body += conv_norm_relu(layers.image_conv(stem_inputs, w, 7), w)
        body += [SamePad(3, 2), *conv_norm_relu(layers.image_conv(w, 2 * w, 3, stride=2), 2 * w)]
        body += [SamePad(3, 2), *conv_norm_relu(layers.conv(2 * w, 4 * w, 3, stride=2), 4 * w)]
        body += [ResidualBlock(4 * w, settings, layers) for _ in range(settings.res_blocks)]
        body += conv_norm_relu(layers.upsample(4 * w, 2 * w), 2 * w)
        body += conv_norm_relu(layers.upsample(2 * w, w), w)
        self.stem_end, self.head_start = 4, len(body)  # stem: pad, conv, norm, ReLU
        head_outputs = out_channels + 1 if settings.attention_mask else out_channels
        if settings.two_tone:
            head_outputs = 2  # coverage and shade
            self.register_buffer("palette_bank", torch.zeros(BANK_SIZE, 2, out_channels))
            self.palette_in = nn.Linear(2 * out_channels, w)  # the palette, as a stem bias
        # 1: keep the shade; 0: coverage only (palette.figures_are_flat); None: always shaded
        shaded = torch.ones(()) if settings.two_tone and settings.flat_figures else None
        self.register_buffer("shaded", shaded)
        body += [layers.reflect_pad(3), layers.image_conv(w, head_outputs, 7)]
        if settings.final_norm:
            body += [norm_layer(head_outputs, settings, layers)]
        if not settings.two_tone:  # two-tone: compose() takes the logits
            body += [nn.Sigmoid() if settings.output == "sigmoid" else nn.Tanh()]
        self.model = nn.Sequential(*body)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.long_skip, self.median_offset = settings.long_skip, settings.median_offset
        self.attention_mask, self.output = settings.attention_mask, settings.output
        self.two_tone = settings.two_tone
        initialise(self)

    def forward(self, x: torch.Tensor, palette: torch.Tensor | None = None) -> torch.Tensor:
        """G(x); a two-tone generator paints with `palette` (N×2×C: ink, paper) if given."""
        image = x
        if self.two_tone and palette is None:
            palette = self.palette_bank[bank_index(image, len(self.palette_bank))]
        if self.median_offset:
            x = torch.cat([x, minus_median(x).abs()], dim=1)
        stem = self.model[: self.stem_end](x)
        if self.two_tone:  # the figure's shade depends on its ink (a mid-grey one is brightened)
            stem = stem + self.palette_bias(palette).to(stem.dtype)[:, :, None, None]
        decoded = self.model[self.stem_end : self.head_start](stem)
        y = self.model[self.head_start :](decoded + stem if self.long_skip else decoded)
        if self.two_tone:
            return compose(y, palette, figure_map(image), self.shaded)
        if not self.attention_mask:
            return y
        generated, mask = y[:, : self.out_channels], y[:, self.out_channels :]
        if self.output == "tanh":
            mask = (mask + 1) / 2
        return mask * generated + (1 - mask) * self.as_output_channels(image)

    def palette_bias(self, palette: torch.Tensor) -> torch.Tensor:
        """`palette_in` applied in fp32 as a sum of products, not a matmul: a step's two halves
        run it at once on two threads, where the matmul's weight gradient was not the same
        from run to run (tests/test_side_by_side.py). N×2×C → N×width."""
        weight, bias = self.palette_in.weight, self.palette_in.bias
        return (palette.flatten(1).float()[:, None, :] * weight[None]).sum(dim=2) + bias

    def as_output_channels(self, image: torch.Tensor) -> torch.Tensor:
        """The input as the output domain holds an image: grey repeated into RGB, RGB averaged
        to grey (a grey pixel keeps its value either way)."""
        if image.shape[1] == self.out_channels:
            return image
        if self.out_channels == 1:
            return image.mean(dim=1, keepdim=True)
        return image.expand(-1, self.out_channels, -1, -1)


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

    g_ab: Generator
    g_ba: Generator
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
) -> Networks:
    """Both generators and discriminators in training mode, initialised from `seed` alone (the
    same weights whichever `layers` builds them)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets = Networks(
            g_ab=Generator(channels_a, channels_b, net, layers),
            g_ba=Generator(channels_b, channels_a, net, layers),
            d_a=Discriminator(channels_a, net, layers),
            d_b=Discriminator(channels_b, net, layers),
        )
    for module in nets.named().values():
        module.to(device).train()
    return nets
