"""Convs that skip their padding's zero rows: the same numbers as padding and convolving."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.layers import same_padding
from mnist_cyclegan.cyclegan.networks import Discriminator
from mnist_cyclegan.fast.layers import FAST
from mnist_cyclegan.fast.padded_conv import (
    SamePaddedConv2d,
    conv2d_skipping_zero_rows,
    row_groups,
)
from mnist_cyclegan.settings.schema import NetSettings


def test_row_groups_of_the_discriminators_fourth_conv():
    # 4×4 map padded 1 before and 2 after, 4×4 kernel, stride 1: output row i reads padded
    # rows i..i+3, of which rows 1-4 hold data
    assert row_groups(4, 1, 4, 1, 4) == [(0, 1, 1, 4), (1, 1, 0, 4), (2, 1, 0, 3), (3, 1, 0, 2)]
    # third conv: 7×7 padded 1 and 2, stride 2: rows 1 and 2 read data through all 4 kernel rows
    assert row_groups(4, 2, 4, 1, 7) == [(0, 1, 1, 4), (1, 2, 0, 4), (3, 1, 0, 2)]


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "size", "stride"),
    [(8, 16, 4, 1), (8, 16, 7, 2), (4, 6, 14, 2), (5, 3, 9, 1), (3, 4, 5, 2)],
)
def test_equals_padding_then_conv_in_float64(in_channels, out_channels, size, stride):
    torch.manual_seed(0)
    padding = (*same_padding(size, 4, stride), *same_padding(size, 4, stride))
    x = torch.randn(3, in_channels, size, size, dtype=torch.float64)
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(out_channels, in_channels, 4, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(out_channels, dtype=torch.float64, requires_grad=True)
    got = conv2d_skipping_zero_rows(x, weight, bias, stride, padding)
    want = F.conv2d(F.pad(x, padding), weight, bias, stride)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    upstream = torch.randn_like(want)
    grads = torch.autograd.grad(got, (x, weight, bias), upstream)
    wanted = torch.autograd.grad(want, (x, weight, bias), upstream)
    for mine, theirs in zip(grads, wanted, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-11)
    assert grads[0].stride() == x.stride()


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "size", "stride"), [(32, 64, 4, 1), (16, 32, 7, 2)]
)
def test_bf16_as_accurate_as_pytorchs_conv(in_channels, out_channels, size, stride):
    """In bf16 on the CPU (the path the discriminator trains on) the output and all three
    gradients are no less accurate than PyTorch's own bf16 conv on the padded input."""
    torch.manual_seed(0)
    fast = SamePaddedConv2d(in_channels, out_channels, 4, stride=stride)
    plain = nn.Conv2d(in_channels, out_channels, 4, stride=stride)
    plain.load_state_dict(fast.state_dict())
    exact = nn.Conv2d(in_channels, out_channels, 4, stride=stride).double()
    exact.load_state_dict(fast.state_dict())
    padding = (*same_padding(size, 4, stride), *same_padding(size, 4, stride))
    x = torch.randn(8, in_channels, size, size).contiguous(memory_format=torch.channels_last)

    def run(conv, inputs, bf16, pad):
        inputs = inputs.detach().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = conv(F.pad(inputs, padding) if pad else inputs)
        grads = torch.autograd.grad(y, (inputs, conv.weight, conv.bias), upstream.to(y.dtype))
        return y, grads

    out = -(-size // stride)
    upstream = torch.randn(8, out_channels, out, out)
    y_fast, grads_fast = run(fast, x, True, pad=False)
    y_plain, grads_plain = run(plain, x, True, pad=True)
    y_exact, grads_exact = run(exact, x.double(), False, pad=True)
    assert y_fast.dtype == torch.bfloat16 and "RowSkipping" in type(y_fast.grad_fn).__name__
    for got, theirs, truth in zip(
        (y_fast.detach(), *grads_fast),
        (y_plain.detach(), *grads_plain),
        (y_exact.detach(), *grads_exact),
        strict=True,
    ):
        scale = float(truth.abs().max())
        error = float((got.double() - truth).abs().max()) / scale
        their_error = float((theirs.double() - truth).abs().max()) / scale
        assert error < 1e-2  # bf16 rounding of inputs and result
        assert error < 2 * their_error + 1e-3


def test_pads_for_itself_in_fp32():
    conv = SamePaddedConv2d(4, 6, 4, stride=1)
    x = torch.randn(2, 4, 4, 4)
    torch.testing.assert_close(
        conv(x), conv._conv_forward(F.pad(x, (1, 2, 1, 2)), conv.weight, conv.bias)
    )


def test_discriminator_skips_zero_rows_in_layers_3_and_4_under_its_old_names():
    """Layers 3 and 4 pad for themselves (an Identity holds the padding's place), so the
    parameter names, which checkpoints store, are those of the padded layout."""
    disc = Discriminator(3, NetSettings(), FAST)
    skipping = [name for name, m in disc.named_modules() if isinstance(m, SamePaddedConv2d)]
    assert skipping == ["model.8", "model.12"]
    conv_weights = [key for key in disc.state_dict() if key.endswith(".weight") and "model" in key]
    assert [k for k in conv_weights if disc.get_parameter(k).dim() == 4] == [
        f"model.{i}.weight" for i in (1, 4, 8, 12, 16)
    ]
