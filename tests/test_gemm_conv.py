"""The GEMM weight gradient: the same gradients as PyTorch's convolution, and used only in bf16."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnist_cyclegan.fast.gemm_conv import GemmGradConv2d


def gradients(conv: nn.Conv2d, x: torch.Tensor, upstream: torch.Tensor, bf16: bool):
    x = x.detach().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = conv(x)
    grads = torch.autograd.grad(y, (x, conv.weight, conv.bias), upstream.to(y.dtype))
    return y, grads


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "kernel", "size", "stride"),
    [(16, 8, 3, 9, 1), (8, 16, 4, 10, 2), (32, 24, 4, 7, 1), (8, 16, 3, 15, 2)],
)
def test_bf16_gradients_match_pytorch_conv(in_channels, out_channels, kernel, size, stride):
    torch.manual_seed(0)
    fast = GemmGradConv2d(in_channels, out_channels, kernel, stride=stride)
    plain = nn.Conv2d(in_channels, out_channels, kernel, stride=stride)
    plain.load_state_dict(fast.state_dict())
    exact = nn.Conv2d(in_channels, out_channels, kernel, stride=stride).double()
    exact.load_state_dict(fast.state_dict())
    x = torch.randn(4, in_channels, size, size).contiguous(memory_format=torch.channels_last)
    out = (size - kernel) // stride + 1
    upstream = torch.randn(4, out_channels, out, out)

    y_fast, grads_fast = gradients(fast, x, upstream, bf16=True)
    y_plain, grads_plain = gradients(plain, x, upstream, bf16=True)
    _, grads_exact = gradients(exact, x.double(), upstream.double(), bf16=False)

    assert y_fast.dtype == torch.bfloat16 and torch.equal(y_fast, y_plain)  # same forward
    assert "GemmWeightGrad" in type(y_fast.grad_fn).__name__
    for got, theirs, truth in zip(grads_fast, grads_plain, grads_exact, strict=True):
        scale = float(truth.abs().max())
        error = float((got.double() - truth).abs().max()) / scale
        their_error = float((theirs.double() - truth).abs().max()) / scale
        assert error < 1e-2  # bf16 rounding of inputs and result
        assert error < 2 * their_error + 1e-3  # no less accurate than PyTorch's own bf16 path


def test_plain_conv_in_fp32_without_grad_and_when_frozen():
    conv = GemmGradConv2d(4, 4, 3)
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    assert "GemmWeightGrad" not in type(conv(x).grad_fn).__name__  # fp32: PyTorch's kernels
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.no_grad():
            assert conv(x).grad_fn is None
        conv.weight.requires_grad_(False)  # frozen (a discriminator during the G update)
        assert "GemmWeightGrad" not in type(conv(x).grad_fn).__name__
