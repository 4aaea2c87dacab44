"""The speed kit is a drop-in: plain and fast networks built from the same weights compute the
same outputs and gradients, and hold their parameters under the same names."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from mnist_cyclegan.cyclegan.layers import PLAIN
from mnist_cyclegan.cyclegan.networks import Discriminator
from mnist_cyclegan.fast.layers import FAST, FastLayers, FastOptions
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings
from mnist_cyclegan.variants.factory import build_networks, define_generator

QUICK = TrainSettings.preset("quick").net
DESIGNS = {
    "reference": NetSettings(gen_width=8, res_blocks=2, disc_width=8),
    "quick": replace(QUICK, gen_width=8, res_blocks=2, disc_width=8),
    "reference-widths": NetSettings(res_blocks=1),
}


def pair(build, dtype: torch.dtype) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A plain and a fast network from one seed, the fast one loaded with the plain weights."""
    torch.manual_seed(0)
    plain = build(PLAIN).to(dtype).train()
    fast = build(FAST).to(dtype).train()
    fast.load_state_dict(plain.state_dict())
    return plain, fast


def networks(design: str, kind: str, cin: int, cout: int):
    net = DESIGNS[design]
    if kind == "generator":
        return lambda layers: define_generator(cin, cout, net, layers)
    return lambda layers: Discriminator(cin, net, layers)


def outputs_and_grads(module, x, upstream, bf16: bool) -> list[torch.Tensor]:
    """The output, then d(output · upstream) for the input and every parameter, in order."""
    x = x.detach().clone().contiguous(memory_format=torch.channels_last).requires_grad_()
    module = module.to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = module(x)
    grads = torch.autograd.grad(y, (x, *module.parameters()), upstream.to(y.dtype))
    return [y.detach(), *grads]


CASES = [
    (design, kind, cin, cout)
    for design in ("reference", "quick")
    for kind in ("generator", "discriminator")
    for cin, cout in ((1, 3), (3, 1))
] + [("reference-widths", "generator", 1, 3), ("reference-widths", "discriminator", 3, 1)]


@pytest.mark.parametrize(("design", "kind", "cin", "cout"), CASES)
def test_float64_plain_and_fast_agree_to_rounding(design, kind, cin, cout):
    plain, fast = pair(networks(design, kind, cin, cout), torch.float64)
    assert list(plain.state_dict()) == list(fast.state_dict())
    x = torch.rand(4, cin, 28, 28, dtype=torch.float64)
    shape = (4, cout, 28, 28) if kind == "generator" else (4, 1, 4, 4)
    upstream = torch.randn(shape, dtype=torch.float64)
    want = outputs_and_grads(plain, x, upstream, bf16=False)
    got = outputs_and_grads(fast, x, upstream, bf16=False)
    names = ["output", "input", *(name for name, _ in plain.named_parameters())]
    for name, mine, theirs in zip(names, got, want, strict=True):
        scale = max(1.0, float(theirs.abs().max()))
        assert float((mine - theirs).abs().max()) <= 1e-10 * scale, name
    for key, value in plain.state_dict().items():  # running statistics moved alike
        torch.testing.assert_close(fast.state_dict()[key], value, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("design", "kind", "cin", "cout"), CASES)
def test_bf16_fast_is_no_less_accurate_than_pytorchs_bf16(design, kind, cin, cout):
    """Against the float64 truth, the fast network's bf16 output and gradients are as accurate
    as the plain network's under PyTorch's own bf16 autocast (within a factor of 2, as the
    kernel tests in test_phase_conv.py and test_padded_conv.py ask of each layer)."""
    build = networks(design, kind, cin, cout)
    exact, _ = pair(build, torch.float64)
    plain, fast = pair(build, torch.float32)
    x = torch.rand(8, cin, 28, 28)
    shape = (8, cout, 28, 28) if kind == "generator" else (8, 1, 4, 4)
    upstream = torch.randn(shape)
    truth = outputs_and_grads(exact, x.double(), upstream.double(), bf16=False)
    theirs = outputs_and_grads(plain, x, upstream, bf16=True)
    mine = outputs_and_grads(fast, x, upstream, bf16=True)
    names = ["output", "input", *(name for name, _ in exact.named_parameters())]
    for name, got, their, true in zip(names, mine, theirs, truth, strict=True):
        scale = float(true.abs().max())
        if scale < 1e-6:  # a conv bias feeding batch norm: its true gradient is 0
            continue
        error = float((got.double() - true).abs().max()) / scale
        their_error = float((their.double() - true).abs().max()) / scale
        assert error <= 2 * their_error + 1e-3, (name, error, their_error)


def test_every_fast_option_keeps_the_parameter_names():
    """The benchmark's switches build other modules, never other names."""
    names = None
    for option in ("gemm_weight_grad", "phases", "skip_zero_rows", "subpixel_upsample"):
        layers = FastLayers(FastOptions(**{option: False}))
        nets = build_networks(QUICK, 1, 3, 0, torch.device("cpu"), layers)
        keys = [f"{n}.{k}" for n, m in nets.named().items() for k in m.state_dict()]
        plain = build_networks(QUICK, 1, 3, 0, torch.device("cpu"))
        assert keys == [f"{n}.{k}" for n, m in plain.named().items() for k in m.state_dict()]
        names = names or keys
        assert keys == names


def test_same_seed_same_weights_whichever_layers_build_them():
    plain = build_networks(NetSettings(), 1, 3, 7, torch.device("cpu"))
    fast = build_networks(NetSettings(), 1, 3, 7, torch.device("cpu"), FAST)
    for (name, a), b in zip(plain.named().items(), fast.named().values(), strict=True):
        for (key, value), other in zip(
            a.state_dict().items(), b.state_dict().values(), strict=True
        ):
            assert torch.equal(value, other), (name, key)
