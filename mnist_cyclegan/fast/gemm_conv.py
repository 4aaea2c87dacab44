"""A Conv2d whose weight gradient is one matrix product when it trains in bf16 on a CPU.

On CPUs with AVX512-BF16 but no AMX, PyTorch's oneDNN kernels for a bf16 convolution's weight
gradient take 1.3-1.9× as long as a bf16 matrix product of the same size (im2col included),
and computing both gradients in one call is slower than the two apart
(`python experiments/conv_grads.py`).
So in that case the weight gradient is taken as im2col (a strided view, one copy) times the
output gradient, and the input gradient stays with oneDNN. Forward is untouched, and on CUDA
this is a plain `nn.Conv2d`; the parameters and their names are the same, so weight files do
not change. On the CPU (any precision), a conv with too few channels for oneDNN's channel
blocks computes by output phases (phase_conv.py): forward where the output has few channels,
the input gradient where the input has.
"""

from __future__ import annotations

import threading

import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.fast.phase_conv import conv2d_by_phases, input_grad_by_phases, phase_factor


def gemm_operands(
    x: torch.Tensor, grad_out: torch.Tensor, weight_shape: torch.Size, stride: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The input patches (im2col, one copy) and the output gradient, as two matrices."""
    out_channels, in_channels, kernel_h, kernel_w = weight_shape
    n, _, out_h, out_w = grad_out.shape
    pixels = x.permute(0, 2, 3, 1).contiguous()  # N·H·W·C: free for channels-last input
    sn, sh, sw, sc = pixels.stride()
    patches = pixels.as_strided(
        (n, out_h, out_w, kernel_h, kernel_w, in_channels),
        (sn, stride * sh, stride * sw, sh, sw, sc),
    ).reshape(n * out_h * out_w, kernel_h * kernel_w * in_channels)
    grads = grad_out.permute(0, 2, 3, 1).reshape(n * out_h * out_w, out_channels)
    return patches, grads


def as_weight(product: torch.Tensor, weight_shape: torch.Size) -> torch.Tensor:
    """The (out, kh·kw·in) product as a weight gradient, in the channels-last layout it has."""
    out_channels, in_channels, kernel_h, kernel_w = weight_shape
    return product.view(out_channels, kernel_h, kernel_w, in_channels).permute(0, 3, 1, 2)


def weight_grad_by_gemm(
    x: torch.Tensor, grad_out: torch.Tensor, weight_shape: torch.Size, stride: int
) -> torch.Tensor:
    """dL/dW of an unpadded, undilated conv as (output gradient)ᵀ × (input patches)."""
    patches, grads = gemm_operands(x, grad_out, weight_shape, stride)
    return as_weight(grads.t() @ patches, weight_shape)


def conv_forward(ctx, x, weight, bias, stride) -> torch.Tensor:
    """Forward of the two Functions below: keep what their backward needs."""
    ctx.save_for_backward(x, weight)
    ctx.stride, ctx.has_bias = stride, bias is not None
    return F.conv2d(x, weight, bias, stride)


def conv_input_grad(ctx, grad_out, x, weight) -> torch.Tensor | None:
    """oneDNN's input gradient alone, where the input needs one; by output phases where the
    input has too few channels for oneDNN's channel blocks (phase_conv.py)."""
    if not ctx.needs_input_grad[0]:
        return None
    if ctx.stride == 1 and x.device.type == "cpu" and phase_factor(x.shape[1]) > 1:
        return input_grad_by_phases(grad_out, weight, x)
    return torch.ops.aten.convolution_backward(
        grad_out, x, weight, None, [ctx.stride, ctx.stride], [0, 0], [1, 1], False, [0, 0], 1,
        [True, False, False],
    )[0]  # fmt: skip


def conv_backward(ctx, grad_out, weight_and_bias_grads):
    """Backward of the two Functions below: oneDNN's input gradient (conv_input_grad), and the
    weight and bias gradients as `weight_and_bias_grads(ctx, grad_out, x, weight)` takes them."""
    x, weight = ctx.saved_tensors
    grad_x = conv_input_grad(ctx, grad_out, x, weight)
    grad_weight, grad_bias = weight_and_bias_grads(ctx, grad_out, x, weight)
    return grad_x, grad_weight, grad_bias, None


def gemm_weight_and_bias_grads(ctx, grad_out, x, weight):
    grad_weight = grad_bias = None
    if ctx.needs_input_grad[1]:
        grad_weight = weight_grad_by_gemm(x, grad_out, weight.shape, ctx.stride)
    if ctx.has_bias and ctx.needs_input_grad[2]:
        grad_bias = grad_out.sum(dim=(0, 2, 3))
    return grad_weight, grad_bias


# oneDNN's CPU weight-gradient kernels are not safe to run on two threads at once
# (side_by_side.py):
# the side-by-side step gave results differing by one bf16 step from run to run until every
# oneDNN weight gradient went through this lock (oneDNN's default build shares one scratchpad
# between primitives and allows a primitive only on the thread that created it).
ONEDNN_WEIGHT_GRAD_LOCK = threading.Lock()


def locked_weight_and_bias_grads(ctx, grad_out, x, weight):
    """oneDNN's weight and bias gradients, taken under ONEDNN_WEIGHT_GRAD_LOCK."""
    wants_weight, wants_bias = ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]
    if not (wants_weight or wants_bias):
        return None, None
    with ONEDNN_WEIGHT_GRAD_LOCK:
        _, grad_weight, grad_bias = torch.ops.aten.convolution_backward(
            grad_out, x, weight, [weight.shape[0]] if wants_bias else None,
            [ctx.stride, ctx.stride], [0, 0], [1, 1], False, [0, 0], 1,
            [False, True, wants_bias],
        )  # fmt: skip
    return grad_weight, grad_bias


class _GemmWeightGradConv(torch.autograd.Function):
    forward = staticmethod(conv_forward)

    @staticmethod
    def backward(ctx, grad_out):
        return conv_backward(ctx, grad_out, gemm_weight_and_bias_grads)


class _LockedWeightGradConv(torch.autograd.Function):
    """oneDNN's gradients, the weight's taken under ONEDNN_WEIGHT_GRAD_LOCK."""

    forward = staticmethod(conv_forward)

    @staticmethod
    def backward(ctx, grad_out):
        return conv_backward(ctx, grad_out, locked_weight_and_bias_grads)


def conv2d_locked_weight_grad(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int = 1
) -> torch.Tensor:
    """`F.conv2d` (no padding) whose oneDNN weight gradient on the CPU holds the lock."""
    if x.device.type != "cpu" or not (torch.is_grad_enabled() and weight.requires_grad):
        return F.conv2d(x, weight, bias, stride)
    dtype = cpu_bf16_dtype(x) or x.dtype
    bias = None if bias is None else bias.to(dtype)
    with torch.autocast("cpu", enabled=False):
        return _LockedWeightGradConv.apply(x.to(dtype), weight.to(dtype), bias, stride)


class PhasedConv2d(nn.Conv2d):
    """`nn.Conv2d` that, with `phases`, computes by output phases on the CPU where it has few
    output channels and stride 1 (phase_conv.py). Same parameters and names as nn.Conv2d."""

    def __init__(self, *args, phases: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.phases = phases

    def phase_factor_for(self, x: torch.Tensor) -> int:
        """f > 1 where this conv computes by f×f output phases, else 1."""
        if not self.phases or x.device.type != "cpu" or self.stride != (1, 1):
            return 1
        return phase_factor(self.out_channels)


class LockedGradConv2d(PhasedConv2d):
    """`nn.Conv2d` (no padding, dilation or groups) whose CPU weight gradient holds the lock:
    for the convs where oneDNN's weight gradient beats the GEMM one (experiments/conv_grads.py).
    With few output channels and stride 1, on the CPU it computes by output phases."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding != (0, 0) or self.dilation != (1, 1) or self.groups != 1:
            return super().forward(x)
        factor = self.phase_factor_for(x)
        if factor > 1:
            return conv2d_by_phases(
                x, self.weight, self.bias, factor, conv=conv2d_locked_weight_grad
            )
        return conv2d_locked_weight_grad(x, self.weight, self.bias, self.stride[0])


def cpu_bf16_dtype(x: torch.Tensor) -> torch.dtype | None:
    """bf16 if this conv would compute in bf16 on the CPU (autocast or bf16 input), else None."""
    if x.device.type != "cpu":
        return None
    if torch.is_autocast_enabled("cpu"):
        dtype = torch.get_autocast_dtype("cpu")
        return dtype if dtype == torch.bfloat16 else None
    return torch.bfloat16 if x.dtype == torch.bfloat16 else None


def conv2d_gemm_weight_grad(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int = 1
) -> torch.Tensor:
    """`F.conv2d` (no padding) with the GEMM weight gradient where it trains in bf16 on the CPU.

    A kernel that covers its whole input (one output pixel, as each output phase of the
    discriminator's last layer) is a linear layer on the flattened image: three plain matrix
    products, no im2col, instead of oneDNN's kernels for one output channel."""
    if x.shape[-2:] == weight.shape[-2:] and x.device.type == "cpu":
        if not torch.is_autocast_enabled("cpu"):  # a bf16 input computes in bf16
            weight, bias = weight.to(x.dtype), None if bias is None else bias.to(x.dtype)
        pixels = x.permute(0, 2, 3, 1).flatten(1)  # a view for channels-last input
        out = F.linear(pixels, weight.permute(0, 2, 3, 1).flatten(1), bias)
        return out[:, :, None, None]
    dtype = cpu_bf16_dtype(x)
    if dtype is None or not (torch.is_grad_enabled() and weight.requires_grad):
        # oneDNN's weight gradient (fp32 on the CPU), under the lock; elsewhere plain
        return conv2d_locked_weight_grad(x, weight, bias, stride)
    bias = None if bias is None else bias.to(dtype)
    with torch.autocast("cpu", enabled=False):
        return _GemmWeightGradConv.apply(x.to(dtype), weight.to(dtype), bias, stride)


class GemmGradConv2d(PhasedConv2d):
    """`nn.Conv2d` (no padding, dilation or groups) with the GEMM weight gradient on CPU bf16;
    with few output channels and stride 1, on the CPU it computes by output phases."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            self.padding != (0, 0)
            or self.dilation != (1, 1)
            or self.groups != 1
            or self.stride[0] != self.stride[1]
        ):
            return super().forward(x)
        factor = self.phase_factor_for(x)
        if factor > 1:
            return conv2d_by_phases(x, self.weight, self.bias, factor, conv=conv2d_gemm_weight_grad)
        return conv2d_gemm_weight_grad(x, self.weight, self.bias, self.stride[0])
