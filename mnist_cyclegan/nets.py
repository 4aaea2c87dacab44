"""The reference CycleGAN networks: a ResNet generator and a PatchGAN discriminator.

Layer by layer as the reference (a Keras design) builds them, including its "same" padding, so
a 28×28 input keeps 28×28 through the generator and gives a 4×4 map of real/fake scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.chains import DeferrableBatchNorm2d
from mnist_cyclegan.gemm_conv import GemmGradConv2d, LockedGradConv2d, conv2d_locked_weight_grad
from mnist_cyclegan.padded_conv import SamePaddedConv2d, same_padding
from mnist_cyclegan.phase_conv import depth_to_space

NORMS = ("batch", "instance")
OUTPUTS = ("sigmoid", "tanh")


@dataclass(frozen=True)
class NetSettings:
    """Architecture settings; stored with every weights file so it alone rebuilds the model."""

    gen_width: int = 32
    res_blocks: int = 6
    disc_width: int = 64
    norm: str = "batch"
    output: str = "sigmoid"
    bn_decay: float = 0.999  # Keras' moving-average decay; PyTorch momentum = 1 - decay
    norm_eps: float = 1e-3
    final_norm: bool = True  # the reference normalises the last conv before its sigmoid
    long_skip: bool = False  # add the full-resolution stem features to the decoder's output
    median_offset: bool = False  # the stem also reads |input − the image's median colour|
    attention_mask: bool = False  # output = mask · generated + (1 − mask) · input

    def to_dict(self) -> dict:
        return asdict(self)


def norm_layer(channels: int, settings: NetSettings) -> nn.Module:
    if settings.norm == "batch":
        momentum = 1.0 - settings.bn_decay
        return DeferrableBatchNorm2d(channels, eps=settings.norm_eps, momentum=momentum)
    return nn.InstanceNorm2d(channels, eps=settings.norm_eps, affine=True)


def minus_median(x: torch.Tensor) -> torch.Tensor:
    """Each image minus its per-channel median: the background colour, as digits cover under a
    fifth of an MNIST image, so the background reads 0 whatever its colour."""
    return x - x.flatten(2).median(dim=2).values[:, :, None, None]


class SamePad(nn.Module):
    """TensorFlow's "same" padding for a k×k stride-s conv: output = ceil(input / s).

    TF puts the odd pixel after, not before (for 4×4 stride-1: 1 before, 2 after), which PyTorch's
    symmetric `padding=` cannot express.
    """

    def __init__(self, kernel: int, stride: int, mode: str = "constant") -> None:
        super().__init__()
        self.kernel, self.stride, self.mode = kernel, stride, mode

    def amounts(self, size: int) -> tuple[int, int]:
        return same_padding(size, self.kernel, self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self.amounts(x.shape[-2])
        left, right = self.amounts(x.shape[-1])
        if top == bottom == left == right == 0:
            return x
        return F.pad(x, (left, right, top, bottom), mode=self.mode)


class ReflectPad(nn.ReflectionPad2d):
    """Reflection padding that keeps its input's dtype under autocast.

    CPU autocast lists reflection padding among the ops it runs in fp32, so a bf16 activation
    would be cast up, padded and cast back down by the next conv: two copies of every padded
    map (~3% of the reference step: the -pad-in-dtype row of benchmarks/bench_train.py).
    Padding only copies values, so running it in the input's own dtype gives the same numbers.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x)


class UpsampleSame(nn.Module):
    """A 3×3 stride-2 transposed conv with TF "same" output: exactly twice the input size.

    The parameters are an `nn.ConvTranspose2d`'s, but the forward pass computes the same sums as
    a sub-pixel convolution: one 2×2 conv to four phases of the output, then depth-to-space.
    On the CPU that is 3.5-6× faster than PyTorch's transposed conv forward and 1.6-2.6× with
    the backward pass (benchmarks/conv_grads.py), and it writes exactly 2H×2W instead of
    (2H+1)×(2W+1) and then cropping.
    Output row 2m takes kernel rows 2 and 0 from input rows m-1 and m; row 2m+1 takes rows 3
    (a zero) and 1 from input rows m-1 and m; columns likewise. Flipped, the kernel padded to
    4×4 lists rows 3, 2, 1, 0, so phase a's taps are every other row from 1 - a. The phases are
    ordered (row phase, column phase, channel) for `depth_to_space` (phase_conv.py), which in
    the channels-last layout is 4-5× faster than `F.pixel_shuffle`; and the kernel is built by
    slicing, whose backward is cheap, where advanced indexing's took ~2 ms per call.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2)

    def phase_kernel(self) -> torch.Tensor:
        """The (4·out, in, 2, 2) conv kernel whose depth-to-space equals the transposed conv."""
        flipped = F.pad(self.conv.weight, (0, 1, 0, 1)).flip(2, 3)  # in, out, 4, 4
        phases = [flipped[:, :, 1 - a :: 2, 1 - b :: 2] for a in range(2) for b in range(2)]
        return torch.cat(phases, dim=1).transpose(0, 1)  # (a, b, out), in, 2, 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.conv.bias.repeat(4) if self.conv.bias is not None else None
        phases = conv2d_locked_weight_grad(F.pad(x, (1, 0, 1, 0)), self.phase_kernel(), bias)
        return depth_to_space(phases, 2)

    def forward_transposed(self, x: torch.Tensor) -> torch.Tensor:
        """The same layer the slow, literal way; the tests and the benchmark compare against it."""
        height, width = x.shape[-2:]
        return self.conv(x)[..., : 2 * height, : 2 * width]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, settings: NetSettings) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ReflectPad(1),
            GemmGradConv2d(channels, channels, 3),
            norm_layer(channels, settings),
            nn.ReLU(inplace=True),
            ReflectPad(1),
            GemmGradConv2d(channels, channels, 3),
            norm_layer(channels, settings),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


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
    """

    def __init__(self, in_channels: int, out_channels: int, settings: NetSettings) -> None:
        super().__init__()
        w = settings.gen_width

        def conv_norm_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
            return [conv, norm_layer(channels, settings), nn.ReLU(inplace=True)]

        layers: list[nn.Module] = [ReflectPad(3)]
        stem_inputs = 2 * in_channels if settings.median_offset else in_channels
        layers += conv_norm_relu(LockedGradConv2d(stem_inputs, w, 7), w)
        layers += [SamePad(3, 2), *conv_norm_relu(LockedGradConv2d(w, 2 * w, 3, stride=2), 2 * w)]
        layers += [SamePad(3, 2), *conv_norm_relu(GemmGradConv2d(2 * w, 4 * w, 3, stride=2), 4 * w)]
        layers += [ResidualBlock(4 * w, settings) for _ in range(settings.res_blocks)]
        layers += conv_norm_relu(UpsampleSame(4 * w, 2 * w), 2 * w)
        layers += conv_norm_relu(UpsampleSame(2 * w, w), w)
        self.stem_end, self.head_start = 4, len(layers)  # stem: pad, conv, norm, ReLU
        head_outputs = out_channels + 1 if settings.attention_mask else out_channels
        layers += [ReflectPad(3), LockedGradConv2d(w, head_outputs, 7)]
        if settings.final_norm:
            layers += [norm_layer(head_outputs, settings)]
        layers += [nn.Sigmoid() if settings.output == "sigmoid" else nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.long_skip, self.median_offset = settings.long_skip, settings.median_offset
        self.attention_mask, self.output = settings.attention_mask, settings.output
        initialise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = x
        if self.median_offset:
            x = torch.cat([x, minus_median(x).abs()], dim=1)
        if self.long_skip:
            stem = self.model[: self.stem_end](x)
            decoded = self.model[self.stem_end : self.head_start](stem)
            y = self.model[self.head_start :](decoded + stem)
        else:
            y = self.model(x)
        if not self.attention_mask:
            return y
        generated, mask = y[:, : self.out_channels], y[:, self.out_channels :]
        if self.output == "tanh":
            mask = (mask + 1) / 2
        return mask * generated + (1 - mask) * self.as_output_channels(image)

    def as_output_channels(self, image: torch.Tensor) -> torch.Tensor:
        """The input as the output domain holds an image: grey repeated into RGB, RGB averaged
        to grey (a grey pixel keeps its value either way)."""
        if image.shape[1] == self.out_channels:
            return image
        if self.out_channels == 1:
            return image.mean(dim=1, keepdim=True)
        return image.expand(-1, self.out_channels, -1, -1)


class Discriminator(nn.Module):
    """PatchGAN: 4×4 convs 64 s2 (no norm), 128 s2, 256 s2, 512 s1, then 1 s1, no activation."""

    def __init__(self, in_channels: int, settings: NetSettings) -> None:
        super().__init__()
        w = settings.disc_width
        # GEMM weight gradient here too: oneDNN's bf16 one for this conv (1 or 3 input channels)
        # was not deterministic while D_A's and D_B's ran side by side (chains.py).
        layers: list[nn.Module] = [SamePad(4, 2), GemmGradConv2d(in_channels, w, 4, stride=2)]
        layers += [nn.LeakyReLU(0.2, inplace=True)]
        channels = w
        layers += [SamePad(4, 2), GemmGradConv2d(channels, 2 * w, 4, stride=2)]
        layers += [norm_layer(2 * w, settings), nn.LeakyReLU(0.2, inplace=True)]
        channels = 2 * w
        for out, stride in ((4 * w, 2), (8 * w, 1)):
            # On 7×7 and 4×4 maps a third and more of the padded input is zeros, which these
            # convs skip (padded_conv.py); they pad for themselves, so an Identity holds the
            # padding's place and the layers keep their indices (the checkpoints' names).
            layers += [nn.Identity(), SamePaddedConv2d(channels, out, 4, stride=stride)]
            layers += [norm_layer(out, settings), nn.LeakyReLU(0.2, inplace=True)]
            channels = out
        layers += [SamePad(4, 1), GemmGradConv2d(channels, 1, 4)]
        self.model = nn.Sequential(*layers)
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


class DigitClassifier(nn.Module):
    """A small CNN that reads digits in one domain: eval's judge of content and its FID features.

    Two 3×3 conv + max-pool stages and a 128-unit hidden layer whose activations are the
    features for the Fréchet distance (as FID uses Inception's penultimate layer). It reads each
    image twice: as is, and minus its per-channel median (the background colour), which lifts a
    white digit off a pale random background (97.7% → 98.4% on real colored-background digits).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.body = nn.Sequential(
            nn.Conv2d(2 * channels, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(128, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
