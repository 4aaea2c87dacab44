"""The design as the reference writes it, checked where a plausible mistake would hide: losses
against a hand computation, which discriminator judges which fake, where gradients flow, the
residual block's ReLU, TensorFlow's "same" padding of every layer, initialisation, pairing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from mnist_cyclegan.cyclegan.layers import PLAIN, SamePad, same_padding
from mnist_cyclegan.cyclegan.networks import (
    Discriminator,
    Generator,
    Networks,
    ResidualBlock,
)
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.cyclegan.step import build_optimizers
from mnist_cyclegan.fast.halves import (
    discriminator_half,
    generator_update,
    half_cycle,
    one_after_the_other,
    train_step,
)
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings
from mnist_cyclegan.training.batches import training_data
from mnist_cyclegan.variants.factory import build_networks
from mnist_cyclegan.variants.shape_term import ink
from mnist_cyclegan.variants.step import half_plan, plans_for


def additions(settings: TrainSettings):
    """The half-cycle plan with the settings' further terms, no noise, no palettes."""
    return half_plan(settings, None, palette_target=None, palette_own=None)


FP32 = replace(TrainSettings(), precision="fp32", lambda_identity=0.5)


class Constant(nn.Module):
    """A 'network' whose output is known: x · scale + shift, so losses can be done by hand."""

    def __init__(self, scale: float, shift: float, out_channels: int | None = None) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float64))
        self.shift, self.out_channels = shift, out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * self.scale + self.shift
        if self.out_channels is not None and y.shape[1] != self.out_channels:
            y = y.mean(1, keepdim=True) if self.out_channels == 1 else y.expand(-1, 3, -1, -1)
        return y


class Squared(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


def test_half_cycle_losses_by_hand():
    """x → G(x) = 2x + 1 → F(y) = y/2 (grey to grey, so the identity term applies): GAN
    (D(G(x)) − 1)², cycle |F(G(x)) − x|, identity |F(x) − x|, total with λ 10 and 0.5."""
    x = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]]], dtype=torch.float64)
    g, f, d = Constant(2.0, 1.0), Constant(0.5, 0.0), Constant(1.0, -3.0)
    terms = half_cycle(g, f, d, x, FP32, additions(FP32))
    fake = 2 * x + 1
    gan = ((fake - 3 - 1) ** 2).mean()
    cycle = (fake / 2 - x).abs().mean()
    identity = (x / 2 - x).abs().mean()
    assert torch.allclose(terms.fake, fake)
    assert terms.gan.item() == pytest.approx(gan.item())
    assert terms.cycle.item() == pytest.approx(cycle.item())
    assert terms.term("identity").item() == pytest.approx(identity.item())
    assert terms.total.item() == pytest.approx((gan + 10 * cycle + 0.5 * identity).item())


def test_shape_term_by_hand():
    """ink(x): each pixel's largest distance from the image's per-channel median, over the
    image's strongest (at least 0.1), times 2, capped at 1; the term |ink(G(x)) − ink(x)| with
    its weight in the total. Here G(x) = x², which moves the ink (an affine G would not)."""
    x = torch.tensor([[[[0.0, 0.5, 0.0], [1.0, 0.25, 0.0], [0.0, 0.0, 0.8]]]], dtype=torch.float64)
    g, f, d = Squared(), Constant(0.5, 0.0), Constant(1.0, -3.0)

    def ink_by_hand(image: torch.Tensor) -> torch.Tensor:
        values = image.flatten().tolist()
        median = sorted(values)[(len(values) - 1) // 2]  # the lower median, as torch takes it
        distance = (image - median).abs()
        return (2 * distance / max(distance.max().item(), 0.1)).clamp(max=1)

    settings = replace(FP32, lambda_identity=0.0, lambda_shape=3.0)
    terms = half_cycle(g, f, d, x, settings, additions(settings))
    fake = x * x
    shape = (ink_by_hand(fake) - ink_by_hand(x)).abs().mean()
    assert shape.item() > 0.05
    gan = ((fake - 3 - 1) ** 2).mean()
    cycle = (fake / 2 - x).abs().mean()
    assert terms.total.item() == pytest.approx((gan + 10 * cycle + 3.0 * shape).item())
    colours = torch.tensor([0.2, 0.9, 0.4], dtype=torch.float64)[None, :, None, None]
    painted = x.expand(-1, 3, -1, -1) * colours  # the same figure in RGB: the same ink
    assert torch.allclose(ink(painted).double(), ink_by_hand(x), atol=1e-6)


def test_discriminator_loss_by_hand_and_through_the_pool():
    real = torch.full((2, 1, 2, 2), 0.5, dtype=torch.float64)
    fake = torch.full((2, 1, 2, 2), 0.25, dtype=torch.float64)
    d = Constant(4.0, 0.0)
    loss = discriminator_half(d, real, fake, ImagePool(0, 0), "fp32")
    assert loss.item() == pytest.approx((2.0 - 1) ** 2 + 1.0**2)  # (D(real) − 1)² + D(fake)²


def tiny_networks(seed: int = 0) -> Networks:
    net = NetSettings(gen_width=4, res_blocks=1, disc_width=4)
    return build_networks(net, 1, 3, seed, torch.device("cpu"))


def real_batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.rand(4, 1, 28, 28), torch.rand(4, 3, 28, 28)


def test_each_discriminator_judges_its_own_domain():
    """D_b judges G(a) (B's fakes) and D_a judges F(b): swapping them must change the losses."""
    nets = tiny_networks()
    real_a, real_b = real_batch()
    seen = {"D_a": [], "D_b": []}
    for name, module in (("D_a", nets.d_a), ("D_b", nets.d_b)):
        module.register_forward_pre_hook(lambda m, args, name=name: seen[name].append(args[0]))
    a2b, b2a = generator_update(
        nets, real_a, real_b, replace(FP32, lambda_identity=0), one_after_the_other
    )
    assert [x.shape[1] for x in seen["D_b"]] == [3] and torch.equal(
        seen["D_b"][0].detach(), a2b.fake
    )
    assert [x.shape[1] for x in seen["D_a"]] == [1] and torch.equal(
        seen["D_a"][0].detach(), b2a.fake
    )


def test_no_discriminator_gradient_in_the_generator_update_and_none_the_other_way():
    """The generator update leaves the frozen discriminators without a gradient; the
    discriminator update leaves the generators' gradients as the generator update made them."""
    nets = tiny_networks()
    real_a, real_b = real_batch()
    optimizers = build_optimizers(nets, FP32, torch.device("cpu"))
    pools = (ImagePool(0, 0), ImagePool(0, 1))
    seen = {}

    def record(optimizer_step, name):
        def step(*args, **kwargs):
            params = nets.generators() if name == "g" else nets.discriminators()
            seen[name] = [None if p.grad is None else p.grad.clone() for p in params]
            seen[f"{name}_other"] = [
                None if p.grad is None else p.grad.clone()
                for p in (nets.discriminators() if name == "g" else nets.generators())
            ]
            return optimizer_step(*args, **kwargs)

        return step

    optimizers[0].step = record(optimizers[0].step, "g")
    optimizers[1].step = record(optimizers[1].step, "d")
    train_step(nets, optimizers, pools, real_a, real_b, FP32, plans=plans_for(FP32))
    assert all(g is not None and g.abs().sum() > 0 for g in seen["g"][:3])
    assert all(g is None for g in seen["g_other"])  # no discriminator gradient in the G update
    assert all(g is not None for g in seen["d"])
    for during, after in zip(seen["d_other"], seen["g"], strict=True):  # untouched by D's update
        assert torch.equal(during, after)


def test_the_discriminator_update_judges_fakes_cut_from_the_generators():
    """The fakes the discriminator update sees carry no graph back into the generators."""
    nets = tiny_networks()
    real_a, _ = real_batch()
    terms = half_cycle(nets.g_ab, nets.g_ba, nets.d_b, real_a, FP32, additions(FP32))
    assert terms.fake.grad_fn is None and not terms.fake.requires_grad
    assert terms.total.requires_grad  # the losses themselves do reach the generators


def test_residual_block_ends_with_relu_of_the_sum_in_the_reference():
    torch.manual_seed(0)
    block = ResidualBlock(4, NetSettings(), PLAIN).eval()
    x = torch.randn(2, 4, 7, 7)
    with torch.no_grad():
        body = block.body(x)
        assert torch.equal(block(x), torch.relu(x + body))
        assert float((x + body).min()) < 0 and float(block(x).min()) == 0.0
    without = ResidualBlock(4, NetSettings(residual_relu=False), PLAIN).eval()
    without.load_state_dict(block.state_dict())
    with torch.no_grad():
        assert torch.equal(without(x), x + body)
    assert TrainSettings.preset("reference").net.residual_relu is True


def test_files_written_before_the_switch_load_without_it():
    assert NetSettings.from_dict({"gen_width": 8}).residual_relu is False
    assert TrainSettings.from_dict({"net": {}}).net.residual_relu is False


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [(28, 3, 2, (0, 1)), (14, 3, 2, (0, 1)), (28, 4, 2, (1, 1)), (14, 4, 2, (1, 1)),
     (7, 4, 2, (1, 2)), (4, 4, 1, (1, 2))],
)  # fmt: skip
def test_same_padding_amounts_as_tensorflow_computes_them(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected


def test_every_padded_layer_pads_as_tensorflow_on_28x28():
    """The padding each layer of the networks applies, seen on its input (before, after)."""
    seen = []
    generator, discriminator = Generator(1, 3, NetSettings()), Discriminator(3, NetSettings())
    for network in (generator, discriminator):
        for module in network.modules():
            if isinstance(module, SamePad):
                module.register_forward_hook(
                    lambda m, args, out: seen.append(m.amounts(args[0].shape[-1]))
                )
    with torch.no_grad():
        discriminator(generator(torch.rand(1, 1, 28, 28)))
    # generator: two 3×3 stride-2 downs; discriminator: 4×4 s2 on 28, 14, 7, s1 on 4 twice
    assert seen == [(0, 1), (0, 1), (1, 1), (1, 1), (1, 2), (1, 2), (1, 2)]


def test_initialisation_of_every_conv_transposed_conv_and_discriminator_layer():
    layers = [
        m
        for network in (Generator(1, 3, NetSettings()), Discriminator(3, NetSettings()))
        for m in network.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
    ]
    # generator: stem, 2 down, 6 × 2 in residual blocks, 2 transposed, head; discriminator: 5
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in layers) == 2 and len(layers) == 23
    for layer in layers:
        weights = layer.weight.detach().flatten()
        assert weights.abs().max() <= 0.04 + 1e-7, layer
        if weights.numel() > 1000:
            assert 0.013 < float(weights.std()) < 0.02, layer  # a normal cut at 2σ: σ·0.88
        assert float(layer.bias.detach().abs().max()) == 0.0


def test_the_quick_preset_pairs_disjoint_halves_and_the_reference_every_digit():
    settings = TrainSettings.preset("quick")
    assert settings.pairing == "disjoint" and settings.validation
    assert TrainSettings() == TrainSettings.preset("reference")  # the defaults are the design
    assert TrainSettings().pairing == "shuffled" and not TrainSettings().validation
    data = training_data(settings, torch.device("cpu"))
    a = {bytes(x) for x in data.train_a.numpy()}
    b = {bytes(x) for x in data.train_b.numpy()}
    assert len(data.train_a) == len(data.train_b) == 27_500  # halves of 55,000: validation out
    assert len(a & b) < 100  # disjoint digits (a few MNIST images repeat byte for byte)
    shuffled = training_data(TrainSettings.preset("reference"), torch.device("cpu"))
    assert len(shuffled.train_a) == 60_000 and shuffled.steps_per_epoch == 937
    assert np.array_equal(shuffled.train_a.numpy()[:, 0], shuffled.arrays_a.x_train)
