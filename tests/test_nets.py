"""The reference networks: shapes for every pair of domains, the 4×4 score map, parameter counts."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.layers import PLAIN, UpsampleSame
from mnist_cyclegan.cyclegan.networks import (
    Discriminator,
    Generator,
    count_parameters,
    trunk_layers,
)
from mnist_cyclegan.domains import DOMAINS, get_domain
from mnist_cyclegan.fast.layers import PhaseUpsample, ReflectPad
from mnist_cyclegan.settings.schema import NetSettings
from mnist_cyclegan.variants.factory import define_generator


@pytest.mark.parametrize(("a", "b"), list(itertools.permutations(DOMAINS, 2)))
def test_generators_map_between_every_pair_of_domains(a, b):
    ca, cb = get_domain(a).channels, get_domain(b).channels
    settings = NetSettings()
    g = Generator(ca, cb, settings).eval()
    with torch.no_grad():
        y = g(torch.rand(2, ca, 28, 28))
    assert y.shape == (2, cb, 28, 28)
    assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0  # sigmoid output


@pytest.mark.parametrize("channels", [1, 3])
def test_discriminator_scores_a_4x4_map_on_28x28(channels):
    d = Discriminator(channels, NetSettings())
    assert d(torch.rand(2, channels, 28, 28)).shape == (2, 1, 4, 4)


def test_fully_convolutional_on_other_sizes():
    g = Generator(1, 3, NetSettings()).eval()
    with torch.no_grad():
        assert g(torch.rand(1, 1, 64, 40)).shape == (1, 3, 64, 40)


@pytest.mark.parametrize(("height", "width"), [(7, 7), (14, 14), (5, 8)])
def test_subpixel_upsample_computes_the_transposed_conv_exactly(height, width):
    torch.manual_seed(0)
    layer = PhaseUpsample(6, 4).double()
    torch.nn.init.normal_(layer.conv.weight)
    torch.nn.init.normal_(layer.conv.bias)
    x = torch.randn(3, 6, height, width, dtype=torch.float64, requires_grad=True)
    fast, literal = layer(x), UpsampleSame.forward(layer, x)
    assert fast.shape == literal.shape == (3, 4, 2 * height, 2 * width)
    torch.testing.assert_close(fast, literal, rtol=0, atol=1e-11)
    upstream = torch.randn_like(fast)
    grads_fast = torch.autograd.grad(fast, (x, layer.conv.weight, layer.conv.bias), upstream)
    grads_literal = torch.autograd.grad(literal, (x, layer.conv.weight, layer.conv.bias), upstream)
    for got, want in zip(grads_fast, grads_literal, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


def test_reflect_pad_stays_in_bf16_under_cpu_autocast():
    x = torch.randn(2, 5, 7, 7).to(torch.bfloat16).to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        padded = ReflectPad(3)(x)
        assert F.pad(x, (3, 3, 3, 3), mode="reflect").dtype == torch.float32  # what it avoids
    assert padded.dtype == torch.bfloat16
    assert torch.equal(padded, F.pad(x.float(), (3, 3, 3, 3), mode="reflect").to(torch.bfloat16))


def test_long_skip_carries_the_stem_past_a_silent_decoder():
    """With the decoder's last block zeroed, only the skip can make the output depend on x."""
    outputs = {}
    for long_skip in (False, True):
        torch.manual_seed(0)
        settings = NetSettings(gen_width=8, res_blocks=1, long_skip=long_skip)
        g = define_generator(1, 3, settings).eval()
        last_up = g.model[len(trunk_layers(1, settings, PLAIN)) - 3]
        assert isinstance(last_up, UpsampleSame)
        with torch.no_grad():
            last_up.conv.weight.zero_()
            outputs[long_skip] = g(torch.rand(2, 1, 28, 28))
    assert float(outputs[False].std()) < 1e-6  # a constant image, whatever the input
    assert float(outputs[True].std()) > 1e-4
    assert count_parameters(define_generator(1, 3, NetSettings(long_skip=True))) == 1_965_641


def test_median_offset_reads_every_background_as_zero():
    """Real colored-background digits: the stem's extra channels are the input's distance from
    its background colour, so background pixels read 0 whatever the colour, and digit pixels,
    darker or brighter than a pale background, read more."""
    from mnist_cyclegan.data import load_mnist
    from mnist_cyclegan.domains import draw_colors, render

    grey = load_mnist().x_test[:8]
    colors = draw_colors(8, seed=3)
    colors[0] = (250, 245, 252)  # pale: the digit's edge is darker than the background
    images = torch.from_numpy(render(grey, "colored-background", colors)).permute(0, 3, 1, 2)
    x = images.float() / 255
    g = define_generator(3, 1, NetSettings(gen_width=8, res_blocks=1, median_offset=True)).eval()
    seen = []
    g.model[1].register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    with torch.no_grad():
        assert g(x).shape == (8, 1, 28, 28)
    stem_input = seen[0][:, :, 3:-3, 3:-3]  # without the reflection padding
    assert stem_input.shape == (8, 6, 28, 28)
    assert torch.equal(stem_input[:, :3], x)
    offset = stem_input[:, 3:]
    background = torch.from_numpy(grey < 127.5)[:, None].expand(-1, 3, -1, -1)
    assert torch.equal(offset[background], torch.zeros_like(offset[background]))
    background_color = torch.from_numpy(colors).float()[:, :, None, None] / 255
    assert torch.equal(offset, (x - background_color).abs())
    digit_moves = offset.amax(dim=1) > 0
    assert bool(digit_moves[torch.from_numpy(grey >= 127.5)].all())


@pytest.mark.parametrize(("cin", "cout"), [(1, 3), (3, 1), (3, 3)])
def test_attention_mask_copies_the_input_where_it_is_closed(cin, cout):
    """Mask logits forced low: the output is the input itself, grey repeated into RGB or RGB
    averaged to grey; forced high: the generated image alone."""
    torch.manual_seed(0)
    settings = NetSettings(gen_width=8, res_blocks=1, final_norm=False, head="attention")
    g = define_generator(cin, cout, settings).eval()
    head = g.model[g.head_start + 1]
    assert head.out_channels == cout + 1
    x = torch.rand(2, cin, 28, 28)
    expected = x.expand(-1, cout, -1, -1) if cin == 1 else x.mean(dim=1, keepdim=True)
    expected = x if cin == cout else expected
    with torch.no_grad():
        head.weight[cout:].zero_()
        head.bias[cout:] = -60.0
        assert torch.allclose(g(x), expected, atol=1e-6)
        head.bias[cout:] = 60.0
        generated = g.model(x)[:, :cout]  # through the head's own activation
        assert torch.allclose(g(x), generated, atol=1e-6)
    plain = NetSettings(gen_width=8, res_blocks=1, final_norm=False)
    assert count_parameters(g) - count_parameters(Generator(cin, cout, plain)) == 8 * 49 + 1


def conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout  # weights + bias (the reference keeps conv biases)


def bn(c: int) -> int:
    return 2 * c  # gamma and beta; running statistics are buffers, not parameters


def test_reference_parameter_counts_are_what_the_design_implies():
    """Counted layer by layer from the design in README.md ("The reference design").

    A public PyTorch CycleGAN at the same settings reports 1.964 M per generator (mnist → colour)
    and 2.766 M per 3-channel discriminator. It drops the biases of convs that feed batch norm
    (they are cancelled by the mean subtraction); the reference keeps them. Subtracting those
    biases (1,859 in a generator, 896 in a discriminator) gives exactly the public figures.
    """
    w = 32
    res_block = 2 * (conv(4 * w, 4 * w, 3) + bn(4 * w))
    generator_1_to_3 = (
        conv(1, w, 7) + bn(w)
        + conv(w, 2 * w, 3) + bn(2 * w)
        + conv(2 * w, 4 * w, 3) + bn(4 * w)
        + 6 * res_block
        + conv(4 * w, 2 * w, 3) + bn(2 * w)  # transposed conv: same count
        + conv(2 * w, w, 3) + bn(w)
        + conv(w, 3, 7) + bn(3)
    )  # fmt: skip
    discriminator_3 = (
        conv(3, 64, 4)
        + conv(64, 128, 4) + bn(128)
        + conv(128, 256, 4) + bn(256)
        + conv(256, 512, 4) + bn(512)
        + conv(512, 1, 4)
    )  # fmt: skip
    settings = NetSettings()
    assert count_parameters(Generator(1, 3, settings)) == generator_1_to_3 == 1_965_641
    assert count_parameters(Discriminator(3, settings)) == discriminator_3 == 2_766_529
    biases_before_norm_g = w + 2 * w + 4 * w + 6 * 2 * 4 * w + 2 * w + w + 3
    biases_before_norm_d = 128 + 256 + 512
    assert round((generator_1_to_3 - biases_before_norm_g) / 1e6, 3) == 1.964
    assert round((discriminator_3 - biases_before_norm_d) / 1e6, 3) == 2.766


def test_init_is_truncated_normal_with_zero_biases_and_bn_as_keras():
    g = Generator(1, 3, NetSettings())
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    weights = torch.cat([c.weight.detach().flatten() for c in convs])
    assert weights.abs().max() <= 0.04 + 1e-7
    assert 0.015 < float(weights.std()) < 0.02  # a cut normal has a smaller spread than 0.02
    assert all(float(c.bias.detach().abs().max()) == 0.0 for c in convs)
    norm = next(m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert norm.eps == pytest.approx(1e-3) and norm.momentum == pytest.approx(0.001)
