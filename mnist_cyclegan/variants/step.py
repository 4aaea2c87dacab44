"""What a run's settings add to the reference step: its half-cycles' plans (fast/halves.py).

For each batch, before the halves start: noise for the fakes on their way back (drawn first, in
a fixed order: two threads would race for the random generator), the palettes a two-tone head
paints with (a real target image's for G(x), the input's own for F(G(x))), and the further
generator terms the settings weigh, summed by the half-cycle in this order: identity, shape.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from mnist_cyclegan.config import TrainSettings
from mnist_cyclegan.fast.halves import HalfPlan, StepPlans, Term, reference_plans
from mnist_cyclegan.variants.cycle_noise import cycle_noise, jitter
from mnist_cyclegan.variants.identity import identity_loss
from mnist_cyclegan.variants.shape_term import shape_loss
from mnist_cyclegan.variants.two_tone import estimate_palette, with_palette


def adds_to_the_step(settings: TrainSettings) -> bool:
    return bool(
        settings.cycle_noise
        or settings.lambda_identity
        or settings.lambda_shape
        or settings.net.head == "two-tone"
    )


def plans_for(settings: TrainSettings) -> StepPlans:
    """The plans a run's steps use: the reference's where the settings add nothing."""
    return (
        partial(plans_with_additions, settings) if adds_to_the_step(settings) else reference_plans
    )


def plans_with_additions(
    settings: TrainSettings, real_a: torch.Tensor, real_b: torch.Tensor
) -> tuple[HalfPlan, HalfPlan]:
    noise_b, noise_a = (
        cycle_noise(x.shape, settings.cycle_noise, x.device) for x in (real_b, real_a)
    )
    two_tone = settings.net.head == "two-tone"
    palette_a, palette_b = (
        (estimate_palette(real_a), estimate_palette(real_b)) if two_tone else (None, None)
    )
    return (
        half_plan(settings, noise_b, palette_target=palette_b, palette_own=palette_a),
        half_plan(settings, noise_a, palette_target=palette_a, palette_own=palette_b),
    )


def half_plan(
    settings: TrainSettings,
    noise: torch.Tensor | None,
    *,
    palette_target: torch.Tensor | None,
    palette_own: torch.Tensor | None,
) -> HalfPlan:
    """x → G(x) painted like a real y, back through F with noise, painted like x itself."""

    def forward(g: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return with_palette(g, x, palette_target)  # G(x)

    def back(f: nn.Module, fake_y: torch.Tensor) -> torch.Tensor:
        return with_palette(f, jitter(fake_y, noise), palette_own)  # F(G(x) + noise)

    def identity(g, f, real_x, fake_y) -> torch.Tensor:
        return identity_loss(f, real_x, fake_y.shape[1], palette_own)  # |F(x) − x|

    def shape(g, f, real_x, fake_y) -> torch.Tensor:
        return shape_loss(fake_y, real_x)  # |ink(G(x)) − ink(x)|

    terms = [
        Term("identity", settings.lambda_identity, identity),
        Term("shape", settings.lambda_shape, shape),
    ]
    return HalfPlan(forward, back, tuple(term for term in terms if term.weight))
