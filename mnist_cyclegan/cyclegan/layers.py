"""The layers the reference networks are built from, as PyTorch's own modules.

The networks ask a `Layers` object for each layer by the role it plays in the design, so the
CPU speed kit (`mnist_cyclegan/fast/layers.py`) can hand out kernels of its own for some roles
while keeping the same parameters under the same names. Read here, every role is the plain
PyTorch layer the design names; nothing in this package imports the speed kit.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding before and after: output = ceil(size / stride), the odd
    pixel after (PyTorch's symmetric `padding=` cannot express it)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SamePad(nn.Module):
    """TensorFlow's "same" zero padding for a k×k stride-s conv: output = ceil(input / s).

    TF puts the odd pixel after, not before (for 4×4 stride 1: 1 before, 2 after)."""

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def amounts(self, size: int) -> tuple[int, int]:
        return same_padding(size, self.kernel, self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self.amounts(x.shape[-2])
        left, right = self.amounts(x.shape[-1])
        if top == bottom == left == right == 0:
            return x
        return F.pad(x, (left, right, top, bottom))


class UpsampleSame(nn.Module):
    """A 3×3 stride-2 transposed conv with TF "same" output: exactly twice the input size.

    PyTorch's transposed conv gives (2H + 1)×(2W + 1); "same" keeps the first 2H×2W."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        return self.conv(x)[..., : 2 * height, : 2 * width]


class Layers:
    """Builds each layer of the reference networks by its role in the design.

    Every role here is PyTorch's plain layer; the roles exist so that the speed kit can choose
    its kernels per role (a conv next to the image runs best with other kernels than one in a
    residual block). A role that returns a list returns the padding and the conv, so the
    layers' positions, and so the names weights are stored under, never depend on the kernels.
    """

    name = "plain"

    def reflect_pad(self, amount: int) -> nn.Module:
        return nn.ReflectionPad2d(amount)

    def conv(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Conv2d:
        """A conv inside a network (down-sampling to the bottleneck, residual blocks)."""
        return nn.Conv2d(in_channels, out_channels, kernel, stride)

    def image_conv(
        self, in_channels: int, out_channels: int, kernel: int, stride: int = 1
    ) -> nn.Conv2d:
        """A generator conv on a full-resolution map: the stem, the first down conv, the head."""
        return nn.Conv2d(in_channels, out_channels, kernel, stride)

    def same_conv(
        self, in_channels: int, out_channels: int, kernel: int, stride: int
    ) -> list[nn.Module]:
        """A conv with TF "same" zero padding: [padding, conv]."""
        return [SamePad(kernel, stride), self.conv(in_channels, out_channels, kernel, stride)]

    def small_map_conv(
        self, in_channels: int, out_channels: int, kernel: int, stride: int
    ) -> list[nn.Module]:
        """A "same"-padded conv on a 7×7 or smaller map, where the padding is a third or more
        of what the kernel reads (the discriminator's third and fourth convs)."""
        return self.same_conv(in_channels, out_channels, kernel, stride)

    def upsample(self, in_channels: int, out_channels: int) -> nn.Module:
        """A 3×3 stride-2 transposed conv with "same" output (2H×2W)."""
        return UpsampleSame(in_channels, out_channels)

    def batch_norm(self, channels: int, *, eps: float, momentum: float) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(channels, eps=eps, momentum=momentum)


PLAIN = Layers()
