"""Patch contrast (variants/patch_nce.py, PatchNCE): its loss against a hand computation, where
the features come from and where the gradients go, and a short run as a user starts it."""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import pytest
import torch
from conftest import logged_losses
from torch import nn

from mnist_cyclegan.cyclegan.networks import Generator
from mnist_cyclegan.fast.halves import half_cycle
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings
from mnist_cyclegan.variants.patch_nce import (
    TEMPERATURE,
    HalfFeatures,
    encode,
    encoder_layers,
    nce_loss,
    patch_nce,
    recording,
    tap,
)
from mnist_cyclegan.variants.step import half_plan

FP32 = replace(TrainSettings(), precision="fp32", lambda_nce=2.0)


def feature_map(*places: tuple[float, float]) -> torch.Tensor:
    """One image's 2-channel features at 1 × len(places) places, as N×C×H×W."""
    return torch.tensor(places, dtype=torch.float64).T.reshape(1, 2, 1, len(places))


def test_the_loss_by_hand():
    """Query places (1, 0) and (0, 1); key places (1, 0) and (2, 2), the second of length √8,
    so its unit vector is (1, 1)/√2. Query 0's logits are (1, 1/√2)/τ, its answer place 0;
    query 1's are (0, 1/√2)/τ, its answer place 1."""
    query = feature_map((1.0, 0.0), (0.0, 1.0))
    key = feature_map((1.0, 0.0), (2.0, 2.0))
    t, r = TEMPERATURE, 1 / math.sqrt(2)
    first = -math.log(math.exp(1 / t) / (math.exp(1 / t) + math.exp(r / t)))
    second = -math.log(math.exp(r / t) / (math.exp(0.0) + math.exp(r / t)))
    at = torch.arange(2)
    assert patch_nce(query, key, at).item() == pytest.approx((first + second) / 2)
    swapped = patch_nce(query, key, torch.tensor([1, 0]))  # the same pairs, in another order
    assert swapped.item() == pytest.approx((first + second) / 2)


def test_a_map_told_apart_by_place_pays_little_and_a_flat_one_pays_log_p():
    sharp = torch.eye(4, dtype=torch.float64).reshape(1, 4, 2, 2)  # a place per channel
    assert nce_loss(HalfFeatures(0, True, [sharp], [sharp])).item() < 1e-5
    flat = torch.ones(3, 4, 2, 2, dtype=torch.float64)
    assert nce_loss(HalfFeatures(0, True, [flat], [flat])).item() == pytest.approx(math.log(4))


def test_gradients_reach_the_query_and_never_the_key():
    query = torch.rand(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    key = torch.rand(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    nce_loss(HalfFeatures(7, True, [key], [query])).backward()
    assert query.grad is not None and query.grad.abs().sum() > 0
    assert key.grad is None


def tiny_generator(in_channels: int, out_channels: int) -> Generator:
    net = NetSettings(gen_width=4, res_blocks=3, disc_width=4)
    return Generator(in_channels, out_channels, net).double()


def test_features_come_from_g_on_x_and_from_f_on_g_of_x():
    """The stem's and both down-samplings' ReLUs and the middle residual block, recorded in
    the half-cycle's own passes: G's of x, F's (which takes G(x)'s channels) of G(x)."""
    torch.manual_seed(0)
    g, f = tiny_generator(1, 3), tiny_generator(3, 1)
    assert encoder_layers(g.model) == (3, 7, 11, 13)
    for generator in (g, f):
        tap(generator)
        tap(generator)  # a second tap adds no second hook
    x = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    features = HalfFeatures(3)
    plan = half_plan(FP32, None, palette_target=None, palette_own=None, features=features)
    critic = nn.Conv2d(3, 1, 1).double()
    terms = half_cycle(g, f, critic, x, FP32, plan)
    shapes = [tuple(t.shape) for t in features.of_input]
    assert shapes == [(2, 4, 28, 28), (2, 8, 14, 14), (2, 16, 7, 7), (2, 16, 7, 7)]
    assert [tuple(t.shape) for t in features.of_output] == shapes
    fake = g(x)
    assert torch.equal(features.of_input[3], g.model[:14](x))
    assert torch.allclose(features.of_output[3], f.model[:14](fake))
    assert terms.term("nce").item() == pytest.approx(nce_loss(features).item())
    gan = ((critic(fake) - 1) ** 2).mean()
    cycle = (f(fake) - x).abs().mean()
    expected = gan + 10 * cycle + 2.0 * nce_loss(features)
    assert terms.total.item() == pytest.approx(expected.item())


def test_cuts_form_reads_g_of_x_with_g_itself_and_leaves_its_statistics_alone():
    """`--nce-encoder own`: G's encoder on G(x) in x's channels (RGB averaged to grey), the
    same functions of the layers as G's forward, batch norm by the batch with no running
    statistics updated; the term contrasts those features against x's."""
    torch.manual_seed(1)
    g, f = tiny_generator(1, 3), tiny_generator(3, 1)
    tap(g), tap(f)
    x = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    before = {k: b.clone() for k, b in g.named_buffers()}
    recorded: list[torch.Tensor] = []
    with recording(recorded):
        g(x)
    mid = {k: b.clone() for k, b in g.named_buffers()}
    assert [torch.allclose(a, b) for a, b in zip(encode(g, x), recorded, strict=True)] == [True] * 4
    assert all(torch.equal(mid[k], b) for k, b in g.named_buffers())  # encode changed nothing
    assert not all(torch.equal(before[k], mid[k]) for k in before)  # as the forward did
    settings = replace(FP32, nce_encoder="own")
    features = HalfFeatures(5, read_by_f=False)
    plan = half_plan(settings, None, palette_target=None, palette_own=None, features=features)
    terms = half_cycle(g, f, nn.Conv2d(3, 1, 1).double(), x, settings, plan)
    assert features.of_output == []  # F's pass recorded nothing
    fake_as_grey = g(x).mean(dim=1, keepdim=True)
    expected = nce_loss(features, encode(g, fake_as_grey))
    assert terms.term("nce").item() == pytest.approx(expected.item())


def test_the_encoder_pass_follows_the_quick_generators_forward():
    """Median offset beside the input, a two-tone head's palette added after the stem: the
    features `encode` computes are those the forward computes."""
    from mnist_cyclegan.cyclegan.layers import PLAIN
    from mnist_cyclegan.variants.factory import build_networks
    from mnist_cyclegan.variants.two_tone import estimate_palette

    net = TrainSettings.preset("quick").net
    nets = build_networks(
        replace(net, gen_width=4, res_blocks=2), 1, 3, 0, torch.device("cpu"), PLAIN
    )
    tap(nets.g_ab)
    x = torch.rand(3, 1, 28, 28)
    palette = estimate_palette(torch.rand(3, 3, 28, 28))
    recorded: list[torch.Tensor] = []
    with recording(recorded):
        nets.g_ab(x, palette)
    for ours, forward in zip(encode(nets.g_ab, x, palette), recorded, strict=True):
        assert torch.allclose(ours, forward, atol=1e-6)


def test_passes_outside_a_recording_or_on_another_thread_are_not_recorded():
    g = tiny_generator(1, 1)
    tap(g)
    x = torch.rand(1, 1, 28, 28, dtype=torch.float64)
    g(x)  # no recording
    taken: list[torch.Tensor] = []
    with recording(taken):
        other = threading.Thread(target=g, args=(x,))
        other.start()
        other.join()
        assert taken == []
        g(x)
    assert len(taken) == 4


def test_train_with_patch_contrast_logs_its_term(runner, tmp_path):
    rows = logged_losses(runner, tmp_path / "run", "--lambda-nce", "1")
    assert len(rows) == 3
    # both halves' terms: each above 0 and below log(64) + 2/τ (64 places at most, every
    # logit within ±1/τ)
    bound = 2 * (math.log(64) + 2 / TEMPERATURE)
    assert all(0 < float(row["nce"]) < bound for row in rows)
    assert float(rows[-1]["nce"]) < float(rows[0]["nce"])  # the generators learn to meet it
