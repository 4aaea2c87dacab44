"""What a run's settings add to the reference step: its half-cycles' plans (fast/halves.py).

For each batch, before the halves start: noise for the fakes on their way back (drawn first, in
a fixed order: two threads would race for the random generator), the palettes a two-tone head
paints with (a real target image's for G(x), the input's own for F(G(x))), the readers and
labels semantic consistency reads (keep_labels.py; task_network.py's classifiers in its other
form), the places patch contrast compares (patch_nce.py), and the further generator terms of
every variant the settings turn on, summed by the half-cycle in the registry's order
(registry.py).
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial

import torch
from torch import nn

from mnist_cyclegan.fast.halves import HalfPlan, StepPlans, reference_plans
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.variants.cycle_noise import cycle_noise, jitter
from mnist_cyclegan.variants.keep_labels import LabelHalf, Readers
from mnist_cyclegan.variants.patch_nce import HalfFeatures, draw_seed, recording
from mnist_cyclegan.variants.registry import VARIANTS
from mnist_cyclegan.variants.task_network import TaskHalf, TaskNetworks
from mnist_cyclegan.variants.two_tone import estimate_palette, with_palette
from mnist_cyclegan.variants.variant import HalfContext


def adds_to_the_step(settings: TrainSettings) -> bool:
    return any(variant.changes_step and variant.is_on(settings) for variant in VARIANTS)


def plans_for(
    settings: TrainSettings, readers: Readers | None = None, task: TaskNetworks | None = None
) -> StepPlans:
    """The plans a run's steps use: the reference's where the settings add nothing. A run
    that keeps labels hands each batch's labels on as `labels=(labels_a, labels_b)`."""
    if not adds_to_the_step(settings):
        return reference_plans
    return partial(plans_with_additions, settings, readers=readers, task=task)


def plans_with_additions(
    settings: TrainSettings,
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    *,
    readers: Readers | None = None,
    task: TaskNetworks | None = None,
    labels: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None),
) -> tuple[HalfPlan, HalfPlan]:
    noise_b, noise_a = (
        cycle_noise(x.shape, settings.cycle_noise, x.device) for x in (real_b, real_a)
    )
    two_tone = settings.net.head == "two-tone"
    palette_a, palette_b = (
        (estimate_palette(real_a), estimate_palette(real_b)) if two_tone else (None, None)
    )
    halves = (None, None)
    if readers is not None:
        halves = (readers.half("a2b", labels[0]), readers.half("b2a", labels[1]))
    tasks = (None, None)
    if task is not None:
        tasks = (task.half("a2b", labels[0]), task.half("b2a", labels[1]))
    features = (None, None)
    if settings.lambda_nce:
        by_f = settings.nce_encoder == "both"
        features = (HalfFeatures(draw_seed(), by_f), HalfFeatures(draw_seed(), by_f))
    return (
        half_plan(settings, noise_b, palette_target=palette_b, palette_own=palette_a,
                  labels=halves[0], features=features[0], task=tasks[0]),
        half_plan(settings, noise_a, palette_target=palette_a, palette_own=palette_b,
                  labels=halves[1], features=features[1], task=tasks[1]),
    )  # fmt: skip


def half_plan(
    settings: TrainSettings,
    noise: torch.Tensor | None,
    *,
    palette_target: torch.Tensor | None,
    palette_own: torch.Tensor | None,
    labels: LabelHalf | None = None,
    features: HalfFeatures | None = None,
    task: TaskHalf | None = None,
) -> HalfPlan:
    """x → G(x) painted like a real y, back through F with noise, painted like x itself; G's
    and F's encoder features recorded where `features` asks for them."""

    def forward(g: nn.Module, x: torch.Tensor) -> torch.Tensor:
        with recorded(features.of_input if features else None):
            return with_palette(g, x, palette_target)  # G(x)

    def back(f: nn.Module, fake_y: torch.Tensor) -> torch.Tensor:
        with recorded(features.of_output if features and features.read_by_f else None):
            return with_palette(f, jitter(fake_y, noise), palette_own)  # F(G(x) + noise)

    context = HalfContext(palette_target, palette_own, labels, features, task)
    terms = tuple(
        variant.term(settings, context)
        for variant in VARIANTS
        if variant.term is not None and variant.is_on(settings)
    )
    return HalfPlan(forward, back, terms)


def recorded(into: list[torch.Tensor] | None):
    """Record the tapped features into `into`; nothing where it is None."""
    return nullcontext() if into is None else recording(into)
