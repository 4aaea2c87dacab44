"""Convs by output phases: the same numbers as PyTorch's conv, forward and both gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.fast import gemm_conv
from mnist_cyclegan.fast.gemm_conv import GemmGradConv2d, LockedGradConv2d
from mnist_cyclegan.fast.phase_conv import conv2d_by_phases, depth_to_space, phase_factor


def test_phase_factor_fills_one_channel_block():
    assert [phase_factor(c) for c in (1, 2, 3, 4, 5, 16, 32)] == [4, 2, 2, 2, 1, 1, 1]


def test_depth_to_space_puts_phase_p_q_at_pixel_f_a_plus_p():
    phases = torch.arange(2 * 36 * 4 * 5).reshape(2, 3 * 3 * 4, 4, 5).float()
    out = depth_to_space(phases.contiguous(memory_format=torch.channels_last), 3)
    assert out.shape == (2, 4, 12, 15)
    for p, q, c in [(0, 0, 0), (1, 2, 3), (2, 1, 1)]:
        channel = (p * 3 + q) * 4 + c
        assert torch.equal(out[:, c, p::3, q::3], phases[:, channel])


@pytest.mark.parametrize(
    ("out_channels", "factor", "size"), [(3, 2, 34), (1, 4, 34), (1, 4, 13), (2, 2, 12)]
)
def test_conv_by_phases_equals_conv(out_channels, factor, size):
    torch.manual_seed(0)
    x = torch.randn(2, 5, size, size, dtype=torch.float64)
    weight = torch.randn(out_channels, 5, 7, 7, dtype=torch.float64)
    bias = torch.randn(out_channels, dtype=torch.float64)
    got = conv2d_by_phases(x, weight, bias, factor)
    torch.testing.assert_close(got, F.conv2d(x, weight, bias), rtol=0, atol=1e-11)


def counted(function, calls: dict, key: str):
    """`function`, counting its calls in calls[key]."""

    def wrapper(*args, **kwargs):
        calls[key] += 1
        return function(*args, **kwargs)

    return wrapper


def gradients(conv: nn.Conv2d, x: torch.Tensor, upstream: torch.Tensor, bf16: bool):
    x = x.detach().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = conv(x)
    return y, torch.autograd.grad(y, (x, conv.weight, conv.bias), upstream.to(y.dtype))


@pytest.mark.parametrize(
    ("conv_class", "in_channels", "out_channels", "kernel", "size"),
    [
        (LockedGradConv2d, 32, 3, 7, 34),  # generator head
        (LockedGradConv2d, 32, 1, 7, 34),
        (LockedGradConv2d, 3, 32, 7, 34),  # generator stem
        (LockedGradConv2d, 1, 32, 7, 34),
        (GemmGradConv2d, 64, 1, 4, 7),  # discriminator's last conv
    ],
)
def test_few_channel_conv_gradients_match_pytorch(
    conv_class, in_channels, out_channels, kernel, size, monkeypatch
):
    """The head and the discriminator's last conv (few outputs) compute by phases; the stem
    (few inputs) takes its input gradient by phases. In float64 they agree with PyTorch's conv
    to rounding; in bf16 they are no less accurate than PyTorch's own bf16 conv."""
    torch.manual_seed(0)
    fast = conv_class(in_channels, out_channels, kernel)
    plain = nn.Conv2d(in_channels, out_channels, kernel)
    plain.load_state_dict(fast.state_dict())
    x = torch.randn(4, in_channels, size, size).contiguous(memory_format=torch.channels_last)
    out = size - kernel + 1
    upstream = torch.randn(4, out_channels, out, out)

    y_exact, exact = gradients(plain.double(), x.double(), upstream.double(), bf16=False)
    calls = {"forward": 0, "input_grad": 0}  # which parts took the phase path
    for name, key in (("conv2d_by_phases", "forward"), ("input_grad_by_phases", "input_grad")):
        monkeypatch.setattr(gemm_conv, name, counted(getattr(gemm_conv, name), calls, key))
    y_fast64, fast64 = gradients(fast.double(), x.double(), upstream.double(), bf16=False)
    assert calls == {"forward": int(out_channels <= 4), "input_grad": int(in_channels <= 4)}
    for got, want in zip((y_fast64, *fast64), (y_exact, *exact), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)

    fast.float(), plain.float()
    y_fast, grads_fast = gradients(fast, x, upstream, bf16=True)
    y_plain, grads_plain = gradients(plain, x, upstream, bf16=True)
    assert y_fast.dtype == torch.bfloat16 and y_fast.shape == (4, out_channels, out, out)
    assert y_fast.is_contiguous(memory_format=torch.channels_last) or in_channels == 1
    assert grads_fast[0].stride() == x.stride()
    for got, theirs, truth in zip(grads_fast, grads_plain, exact, strict=True):
        scale = float(truth.abs().max())
        error = float((got.double() - truth).abs().max()) / scale
        their_error = float((theirs.double() - truth).abs().max()) / scale
        assert error < 1e-2  # bf16 rounding of inputs and result
        assert error < 2 * their_error + 1e-3
