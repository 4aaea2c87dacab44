"""What a run hands its user at each epoch's end: deployable generators and a sample sheet."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mnist_cyclegan.bn_stats import recalibrated_copy
from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.cyclegan.pixels import to_model, to_pixels
from mnist_cyclegan.images import grid, to_rgb, upscale
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.training.batches import TrainingData
from mnist_cyclegan.variants.two_tone import painted_like
from mnist_cyclegan.weights import WeightsMeta

CALIBRATION_BATCHES = 16


def export_generators(
    nets: Networks, data: TrainingData, settings: TrainSettings
) -> tuple[nn.Module, nn.Module]:
    """Eval-mode copies of both generators with batch-norm statistics re-estimated on training
    batches (see bn_stats.py); the training networks are not touched."""
    count = min(CALIBRATION_BATCHES, data.steps_per_epoch)
    order = data.epoch_order(settings.seed + 7919, 0)
    batches = [data.batch(order, i) for i in range(count)]
    output = settings.net.output
    g_ab = recalibrated_copy(nets.g_ab, (to_model(a, output) for a, _ in batches))
    g_ba = recalibrated_copy(nets.g_ba, (to_model(b, output) for _, b in batches))
    return g_ab, g_ba


def run_meta(
    settings: TrainSettings, channels: tuple[int, int], *, step: int | None, epoch: int | None
) -> WeightsMeta:
    """The weights metadata of a run's generators."""
    return WeightsMeta(
        net=settings.net,
        channels_a=channels[0],
        channels_b=channels[1],
        domain_a=settings.domain_a,
        domain_b=settings.domain_b,
        style=settings.style,
        settings=settings,
        step=step,
        epoch=epoch,
        batch_norm_stats=f"re-estimated on {CALIBRATION_BATCHES} training batches",
    )


@torch.no_grad()
def sample_sheet(g_ab: nn.Module, g_ba: nn.Module, data: TrainingData, output: str) -> np.ndarray:
    """Rows: A inputs, A→B, A→B→A, B inputs, B→A, B→A→B (8 fixed test digits each)."""
    real_a, real_b = to_model(data.test_a, output), to_model(data.test_b, output)
    fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    back_a, back_b = painted_like(g_ba, fake_b, real_a), painted_like(g_ab, fake_a, real_b)
    rows = [real_a, fake_b, back_a, real_b, fake_a, back_b]
    pixels = np.concatenate([to_rgb(to_pixels(row, output)) for row in rows])
    return upscale(grid(pixels, columns=8), 3)
