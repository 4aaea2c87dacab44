"""Geometry consistency (variants/geometry.py, GcGAN): its term against a hand computation,
where its gradients go, and a short run as a user starts it that logs it."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from conftest import logged_losses
from torch import nn

from mnist_cyclegan.fast.halves import half_cycle
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.variants.geometry import geometry_loss, quarter_turn
from mnist_cyclegan.variants.step import half_plan

FP32 = replace(TrainSettings(), precision="fp32", lambda_geometry=2.0)


class Masked(nn.Module):
    """G(x) = x · mask, a fixed mask over the pixels: a translation that does not commute with
    a turn, so the term has something to measure."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.mask = nn.Parameter(mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


class Halved(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / 2


def test_a_quarter_turn_is_anticlockwise_and_exact():
    image = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert quarter_turn(image).tolist() == [[[[2.0, 4.0], [1.0, 3.0]]]]
    assert torch.equal(quarter_turn(quarter_turn(quarter_turn(quarter_turn(image)))), image)


def test_the_term_by_hand():
    """x = [[a, b], [c, d]], G(x) = x · [[1, 0], [0, 0]] keeps the top-left pixel alone.
    G(rot(x)) = [[b, 0], [0, 0]]; rot(G(x)) = rot([[a, 0], [0, 0]]) = [[0, 0], [a, 0]]:
    the term is (|b| + |a|) / 4, and the half's total adds it at weight 2."""
    a, b, c, d = 0.75, 0.5, 0.25, 1.0
    x = torch.tensor([[[[a, b], [c, d]]]], dtype=torch.float64)
    g = Masked(torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64))
    assert geometry_loss(g, x, g(x)).item() == pytest.approx((b + a) / 4)
    plan = half_plan(FP32, None, palette_target=None, palette_own=None)
    critic = Halved()
    terms = half_cycle(g, Halved(), critic, x, FP32, plan)
    fake = g(x)
    gan = ((fake / 2 - 1) ** 2).mean()
    cycle = (fake / 2 - x).abs().mean()
    assert terms.term("geometry").item() == pytest.approx((b + a) / 4)
    assert terms.total.item() == pytest.approx((gan + 10 * cycle + 2.0 * (a + b) / 4).item())


def test_an_equivariant_translation_pays_nothing_and_gradients_reach_g_through_both_sides():
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    plain = nn.Conv2d(3, 3, 1).double()  # a 1×1 conv commutes with any turn
    assert geometry_loss(plain, x, plain(x)).item() == pytest.approx(0.0, abs=1e-12)
    g = Masked(torch.rand(8, 8, dtype=torch.float64))
    geometry_loss(g, x, g(x)).backward()
    assert g.mask.grad is not None and g.mask.grad.abs().sum() > 0


def test_train_with_geometry_logs_its_term(runner, tmp_path):
    rows = logged_losses(runner, tmp_path / "run", "--lambda-geometry", "2")
    assert len(rows) == 3
    assert all(float(row["geometry"]) > 0 for row in rows)
