"""Convolutions with few output channels, computed as one strided conv over output phases.

oneDNN's CPU kernels work in blocks of 16 output channels: a 7×7 conv from 32 channels to 1 or
3 (the generator's head, and the input gradient of its 1- or 3-channel stem) takes as long as
one to 16 channels (`python experiments/layer_forms.py`, part 1), so most of its time is spent
on channels that do not exist. Splitting the output into f×f phases fills the block instead:
phase (p, q) of the output, pixels (f·a + p, f·b + q), is a stride-f conv of the same input
with the kernel shifted by (p, q) in a (k + f − 1)² frame. All f² phases are one conv with
f²·out channels and 1/f² as many output pixels, and a depth-to-space puts them back in place:
the same sums, plus products with the frame's zeros (`python experiments/conv_grads.py`, third
table, has the timings).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

ONEDNN_CHANNEL_BLOCK = 16


def phase_factor(out_channels: int) -> int:
    """The largest f in 1, 2, 4 whose f²·out_channels phases fit one channel block."""
    for factor in (4, 2):
        if factor * factor * out_channels <= ONEDNN_CHANNEL_BLOCK:
            return factor
    return 1


def depth_to_space(phases: torch.Tensor, factor: int) -> torch.Tensor:
    """(N, f·f·C, H, W) with channels ordered (p, q, c) → (N, C, f·H, f·W), pixel (f·a + p,
    f·b + q) from phase (p, q) at (a, b). Phase-major order, unlike `F.pixel_shuffle`'s (c, p,
    q), makes this a copy of whole C-channel pixels in the channels-last layout (4-5× faster
    than pixel_shuffle there, with its backward)."""
    n, channels, height, width = phases.shape
    out = channels // (factor * factor)
    pixels = phases.permute(0, 2, 3, 1).reshape(n, height, width, factor, factor, out)
    pixels = pixels.permute(0, 1, 3, 2, 4, 5).reshape(n, factor * height, factor * width, out)
    return pixels.permute(0, 3, 1, 2)


def phase_kernel(weight: torch.Tensor, factor: int) -> torch.Tensor:
    """(out, in, k, k) → (f·f·out, in, k + f − 1, k + f − 1): phase (p, q)'s kernel is the
    weight shifted down p rows and right q columns, channels in (p, q, out) order."""
    last = factor - 1
    shifted = [
        F.pad(weight, (q, last - q, p, last - p)) for p in range(factor) for q in range(factor)
    ]
    return torch.cat(shifted, dim=0)


def conv2d_by_phases(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, factor: int, conv=F.conv2d
) -> torch.Tensor:
    """`F.conv2d(x, weight, bias)` (stride 1, no padding) as one stride-f conv over f·f output
    phases; `conv(x, kernel, bias, stride)` does the conv (one with a locked weight gradient,
    say). An output size that f does not divide is computed padded with zeros, then cropped."""
    kernel_size = weight.shape[-1]
    height, width = x.shape[-2] - kernel_size + 1, x.shape[-1] - kernel_size + 1
    extra_h, extra_w = -height % factor, -width % factor
    if extra_h or extra_w:
        x = F.pad(x, (0, extra_w, 0, extra_h))
    bias = None if bias is None else bias.repeat(factor * factor)
    phases = conv(x, phase_kernel(weight, factor), bias, factor)
    out = depth_to_space(phases, factor)
    return out[..., :height, :width] if extra_h or extra_w else out


def input_grad_by_phases(
    grad_out: torch.Tensor, weight: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    """dL/dx of an unpadded stride-1 conv of `x` with few input channels: the full correlation
    of the output gradient with the flipped, transposed kernel, which has few *output*
    channels. Laid out like `x`."""
    margin = weight.shape[-1] - 1
    padded = F.pad(grad_out, (margin, margin, margin, margin))
    flipped = weight.flip(2, 3).transpose(0, 1)
    grad_x = conv2d_by_phases(padded, flipped, None, phase_factor(flipped.shape[0]))
    return grad_x if grad_x.stride() == x.stride() else torch.empty_like(x).copy_(grad_x)
