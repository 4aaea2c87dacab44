"""Convs on small maps that skip the rows of zeros their "same" padding adds.

The discriminator's third and fourth convs read 7×7 and 4×4 maps padded to 10×10 and 7×7, so
their 4×4 kernels multiply zeros in 34% and 44% of their multiply-adds (`python
experiments/conv_grads.py`, last table), and they are the discriminator's costliest layers.
oneDNN computes those zeros. Here, in bf16 on the CPU, each group of output rows that reads the
same kernel rows is one matrix product over only those rows (im2col of the rows that hold
data, times the matching slice of the kernel), which drops the zero rows: a quarter of the
fourth conv's work and a fifth of the third's. Zero columns are still multiplied, so that every
product stays one GEMM that sums in fp32 and rounds once, as oneDNN's conv does.
The weight gradient goes kernel row by kernel row (each kernel row's gradient is one product
over the output rows that see data through it), and for stride 1 the input gradient is the
same row-skipping conv of the output gradient with the flipped kernel; for stride 2 it stays
with oneDNN.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.layers import same_padding
from mnist_cyclegan.fast.gemm_conv import GemmGradConv2d, cpu_bf16_dtype


def row_groups(out_rows: int, stride: int, kernel: int, top: int, data_rows: int):
    """Runs of consecutive output rows that read data through the same kernel rows, where the
    map has `data_rows` rows after `top` rows of zeros: [(first output row, row count, first
    kernel row, last kernel row + 1)]."""
    groups: list[list[int]] = []
    for row in range(out_rows):
        start = stride * row  # the padded row under kernel row 0
        first, last = max(0, top - start), min(kernel, top + data_rows - start)
        if groups and groups[-1][2:] == [first, last]:
            groups[-1][1] += 1
        else:
            groups.append([row, 1, first, last])
    return [tuple(group) for group in groups]


def row_skipping_conv(
    padded: torch.Tensor,
    taps: torch.Tensor,
    kernel: int,
    bias: torch.Tensor | None,
    stride: int,
    top: int,
    bottom: int,
) -> torch.Tensor:
    """`F.conv2d(padded, weight, bias, stride)` without the products of the `top` and
    `bottom` zero rows. `padded` is (N, H, W, C), contiguous; `taps` is the k×k kernel as a
    (k·k·C, O) matrix with rows in (kernel row, kernel column, channel) order; the result is
    (N, H_out, W_out, O)."""
    n, height, width, channels = padded.shape
    out_channels = taps.shape[1]
    out_h, out_w = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    sn, sh, sw, sc = padded.stride()
    rows_of_output = []
    for first_row, rows, first, last in row_groups(
        out_h, stride, kernel, top, height - top - bottom
    ):
        if last <= first:  # rows that read only zeros
            zeros = padded.new_zeros(n, rows, out_w, out_channels)
            rows_of_output.append(zeros if bias is None else zeros + bias)
            continue
        patches = padded.as_strided(
            (n, rows, out_w, last - first, kernel, channels),
            (sn, stride * sh, stride * sw, sh, sw, sc),
            padded.storage_offset() + (stride * first_row + first) * sh,
        ).reshape(n * rows * out_w, (last - first) * kernel * channels)
        rows_taps = taps[first * kernel * channels : last * kernel * channels]
        out = patches @ rows_taps if bias is None else torch.addmm(bias, patches, rows_taps)
        rows_of_output.append(out.view(n, rows, out_w, out_channels))
    return torch.cat(rows_of_output, dim=1)


def row_skipping_weight_grad(
    padded: torch.Tensor, grad: torch.Tensor, kernel: int, stride: int, top: int, bottom: int
) -> torch.Tensor:
    """dL/dW (O, k, k, C) of `row_skipping_conv`, one kernel row at a time: kernel row r's
    gradient is a product over the output rows whose taps through r land on data."""
    n, height, width, channels = padded.shape
    _, out_h, out_w, out_channels = grad.shape
    sn, sh, sw, sc = padded.stride()
    kernel_rows = []
    for r in range(kernel):
        # output rows i with top <= stride * i + r < height - bottom
        first = max(0, -(-(top - r) // stride))
        last = min(out_h, (height - bottom - 1 - r) // stride + 1)
        if last <= first:
            kernel_rows.append(grad.new_zeros(out_channels, kernel * channels))
            continue
        rows = last - first
        patches = padded.as_strided(
            (n, rows, out_w, kernel, channels),
            (sn, stride * sh, stride * sw, sw, sc),
            padded.storage_offset() + (stride * first + r) * sh,
        ).reshape(n * rows * out_w, kernel * channels)
        grads = grad[:, first:last].reshape(n * rows * out_w, out_channels)
        kernel_rows.append(grads.t() @ patches)
    return torch.stack(kernel_rows, dim=1).view(out_channels, kernel, kernel, channels)


def channels_last_pixels(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) as a contiguous (N, H, W, C): free for a channels-last tensor."""
    return x.permute(0, 2, 3, 1).contiguous()


class _RowSkippingConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        top, bottom = padding[2:]
        padded = channels_last_pixels(F.pad(x, padding))
        out_channels, kernel = weight.shape[0], weight.shape[-1]
        taps = channels_last_pixels(weight).view(out_channels, -1).t()  # (k·k·C, O)
        out = row_skipping_conv(padded, taps, kernel, bias, stride, top, bottom)
        ctx.save_for_backward(padded, weight)
        ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bias is not None
        ctx.size = x.shape[-2:]
        return out.permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad_out):
        padded, weight = ctx.saved_tensors
        stride, (_, _, top, bottom) = ctx.stride, ctx.padding
        grad = channels_last_pixels(grad_out)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = input_grad(padded, weight, grad, stride, ctx.padding, ctx.size)
        if ctx.needs_input_grad[1]:
            kernel = weight.shape[-1]
            taps = row_skipping_weight_grad(padded, grad, kernel, stride, top, bottom)
            grad_weight = taps.permute(0, 3, 1, 2)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(dim=(0, 1, 2))
        return grad_x, grad_weight, grad_bias, None, None


def input_grad(padded, weight, grad, stride, padding, size) -> torch.Tensor:
    """dL/dx: for stride 1 the row-skipping conv of the output gradient, padded by k − 1 less
    the forward padding, with the flipped kernel, channels swapped; else oneDNN's, cropped."""
    left, right, top, bottom = padding
    kernel = weight.shape[-1]
    if stride == 1:
        margins = (kernel - 1 - left, kernel - 1 - right, kernel - 1 - top, kernel - 1 - bottom)
        padded_grad = F.pad(grad, (0, 0, *margins))  # (N, H, W, C): channels first in pad
        # (k·k·O, C) with rows in (flipped row, flipped column, O) order: a copy of whole
        # C-channel rows, where a (C, k·k·O) layout would transpose every element (an order
        # of magnitude slower for the fourth conv's kernel)
        flipped = weight.permute(2, 3, 0, 1).flip(0, 1).reshape(-1, weight.shape[1])
        pixels = row_skipping_conv(padded_grad, flipped, kernel, None, 1, *margins[2:])
        return pixels.permute(0, 3, 1, 2)
    grad_padded = torch.ops.aten.convolution_backward(
        grad.permute(0, 3, 1, 2), padded.permute(0, 3, 1, 2), weight, None, [stride, stride],
        [0, 0], [1, 1], False, [0, 0], 1, [True, False, False],
    )[0]  # fmt: skip
    height, width = size
    return grad_padded[..., top : top + height, left : left + width].contiguous(
        memory_format=torch.channels_last
    )


def conv2d_skipping_zero_rows(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: int,
    padding: tuple[int, int, int, int],
) -> torch.Tensor:
    """`F.conv2d(F.pad(x, padding), weight, bias, stride)`, skipping the zero rows (any dtype
    on the CPU; channels-last output)."""
    return _RowSkippingConv.apply(x, weight, bias, stride, padding)


class SamePaddedConv2d(GemmGradConv2d):
    """A conv with TF "same" zero padding of its own that, in bf16 on the CPU, skips the zero
    rows; elsewhere it pads and runs as a `GemmGradConv2d`. Parameters as `nn.Conv2d`'s."""

    def same_padding_of(self, x: torch.Tensor) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), as `F.pad` takes it, for input `x`."""
        kernel, stride = self.kernel_size[0], self.stride[0]
        top, bottom = same_padding(x.shape[-2], kernel, stride)
        left, right = same_padding(x.shape[-1], kernel, stride)
        return left, right, top, bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding, stride = self.same_padding_of(x), self.stride[0]
        dtype = cpu_bf16_dtype(x)
        if dtype is None:
            return super().forward(F.pad(x, padding))
        bias = None if self.bias is None else self.bias.to(dtype)
        with torch.autocast("cpu", enabled=False):
            x = x.to(dtype).contiguous(memory_format=torch.channels_last)
            return conv2d_skipping_zero_rows(x, self.weight.to(dtype), bias, stride, padding)
