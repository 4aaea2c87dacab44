"""The CPU speed kit as a drop-in `Layers` factory: the same networks, faster kernels.

`FastLayers` builds every role of the reference's `Layers` (cyclegan/layers.py) from modules
that hold the same parameters and buffers under the same names, so weights and checkpoints move
freely between the two. What each kernel is worth is measured by `python
benchmarks/bench_train.py`, which switches the options of `FastOptions` off one at a time:

- gemm_weight_grad: bf16 weight gradients as one matrix product (gemm_conv.py); off: oneDNN's
- phases: convs with few output channels by output phases (phase_conv.py)
- skip_zero_rows: the discriminator's small-map convs skip their padding's zero rows
  (padded_conv.py)
- subpixel_upsample: the transposed convs as one conv over four output phases
- pad_in_dtype: reflection padding kept in bf16 under CPU autocast
and batch norm that can run side by side (side_by_side.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.layers import PLAIN, Layers, UpsampleSame
from mnist_cyclegan.fast.gemm_conv import (
    GemmGradConv2d,
    LockedGradConv2d,
    conv2d_locked_weight_grad,
)
from mnist_cyclegan.fast.padded_conv import SamePaddedConv2d
from mnist_cyclegan.fast.phase_conv import depth_to_space
from mnist_cyclegan.fast.side_by_side import DeferrableBatchNorm2d


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


class PhaseUpsample(UpsampleSame):
    """`UpsampleSame` computed as a sub-pixel convolution: one 2×2 conv to the four phases of
    the output, then depth-to-space. Same parameters (an `nn.ConvTranspose2d`'s) and sums.

    On the CPU that is 3.5-6× faster than PyTorch's transposed conv forward and 1.6-2.6× with
    the backward pass (experiments/conv_grads.py), and it writes exactly 2H×2W instead of
    (2H+1)×(2W+1) and then cropping.
    Output row 2m takes kernel rows 2 and 0 from input rows m-1 and m; row 2m+1 takes rows 3
    (a zero) and 1 from input rows m-1 and m; columns likewise. Flipped, the kernel padded to
    4×4 lists rows 3, 2, 1, 0, so phase a's taps are every other row from 1 - a. The phases are
    ordered (row phase, column phase, channel) for `depth_to_space` (phase_conv.py), which in
    the channels-last layout is 4-5× faster than `F.pixel_shuffle`; and the kernel is built by
    slicing, whose backward is cheap, where advanced indexing's took ~2 ms per call.
    """

    def phase_kernel(self) -> torch.Tensor:
        """The (4·out, in, 2, 2) conv kernel whose depth-to-space equals the transposed conv."""
        flipped = F.pad(self.conv.weight, (0, 1, 0, 1)).flip(2, 3)  # in, out, 4, 4
        phases = [flipped[:, :, 1 - a :: 2, 1 - b :: 2] for a in range(2) for b in range(2)]
        return torch.cat(phases, dim=1).transpose(0, 1)  # (a, b, out), in, 2, 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.conv.bias.repeat(4) if self.conv.bias is not None else None
        phases = conv2d_locked_weight_grad(F.pad(x, (1, 0, 1, 0)), self.phase_kernel(), bias)
        return depth_to_space(phases, 2)


@dataclass(frozen=True)
class FastOptions:
    """Each kernel of the kit, on by default; benchmarks switch them off one at a time."""

    gemm_weight_grad: bool = True
    phases: bool = True
    skip_zero_rows: bool = True
    subpixel_upsample: bool = True
    pad_in_dtype: bool = True


class FastLayers(Layers):
    """The reference's layers with the CPU speed kit's kernels (see the module doc)."""

    name = "fast"

    def __init__(self, options: FastOptions | None = None) -> None:
        self.options = options or FastOptions()

    def reflect_pad(self, amount: int) -> nn.Module:
        return ReflectPad(amount) if self.options.pad_in_dtype else nn.ReflectionPad2d(amount)

    def conv(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Conv2d:
        """The GEMM weight gradient (where it trains in bf16 on the CPU), else oneDNN's."""
        layer = GemmGradConv2d if self.options.gemm_weight_grad else LockedGradConv2d
        return layer(in_channels, out_channels, kernel, stride, phases=self.options.phases)

    def image_conv(
        self, in_channels: int, out_channels: int, kernel: int, stride: int = 1
    ) -> nn.Conv2d:
        """oneDNN's weight gradient, under the lock: it beats the GEMM one for these shapes."""
        return LockedGradConv2d(
            in_channels, out_channels, kernel, stride, phases=self.options.phases
        )

    def small_map_conv(
        self, in_channels: int, out_channels: int, kernel: int, stride: int
    ) -> list[nn.Module]:
        """A conv that pads for itself and skips the zero rows; an Identity holds the place of
        the padding so the conv keeps its position (and name)."""
        if not (self.options.skip_zero_rows and self.options.gemm_weight_grad):
            return self.same_conv(in_channels, out_channels, kernel, stride)
        conv = SamePaddedConv2d(
            in_channels, out_channels, kernel, stride, phases=self.options.phases
        )
        return [nn.Identity(), conv]

    def upsample(self, in_channels: int, out_channels: int) -> nn.Module:
        layer = PhaseUpsample if self.options.subpixel_upsample else UpsampleSame
        return layer(in_channels, out_channels)

    def batch_norm(self, channels: int, *, eps: float, momentum: float) -> nn.BatchNorm2d:
        return DeferrableBatchNorm2d(channels, eps=eps, momentum=momentum)


FAST = FastLayers()


def layers_for(kernels: str) -> Layers:
    """The factory a run's `--kernels` names: plain or fast."""
    return FAST if kernels == "fast" else PLAIN
