"""What a run is built from before its first step: its four networks as this run trains them,
how a step's halves run, a fresh progress, and the config.json that records it all."""

from __future__ import annotations

import torch

from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.fast.halves import HalfRunner, one_after_the_other
from mnist_cyclegan.fast.layers import layers_for
from mnist_cyclegan.fast.side_by_side import run_side_by_side, side_by_side_pays
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.training import distributed
from mnist_cyclegan.training.batches import TrainingData
from mnist_cyclegan.training.checkpoint import Progress
from mnist_cyclegan.training.distributed import World
from mnist_cyclegan.training.run_folder import LOSS_NAMES
from mnist_cyclegan.variants.factory import build_networks
from mnist_cyclegan.variants.registry import VARIANTS
from mnist_cyclegan.version import __version__


def run_networks(
    settings: TrainSettings,
    data: TrainingData,
    *,
    kernels: str,
    world: World,
    device: torch.device,
    memory_format: torch.memory_format,
) -> Networks:
    """The four networks from the seed, with the kernels `--kernels` picks, a two-tone head's
    palettes from its target's training images, identical on every process, laid out in
    `memory_format` (channels-last: faster oneDNN and cuDNN convolutions)."""
    channels = (data.arrays_a.channels, data.arrays_b.channels)
    nets = build_networks(settings.net, *channels, settings.seed, device, layers_for(kernels))
    targets = {"g_ab": data.train_b, "g_ba": data.train_a}
    for variant in VARIANTS:  # what an addition prepares once the networks exist
        if variant.prepare is not None and variant.is_on(settings):
            variant.prepare({"g_ab": nets.g_ab, "g_ba": nets.g_ba}, targets, settings.seed)
    for name, module in nets.named().items():
        setattr(nets, name.lower(), distributed.sync_batch_norm(module, world, device))
    distributed.broadcast_state(list(nets.named().values()), world)
    for module in nets.named().values():
        module.to(memory_format=memory_format)
    return nets


def half_runner(kernels: str, side_by_side: bool, device: torch.device) -> HalfRunner:
    """Side by side where the speed kit runs on a CPU with threads to share."""
    if side_by_side and kernels == "fast" and side_by_side_pays(device):
        return run_side_by_side
    return one_after_the_other


def fresh_progress(seed: int, device: torch.device) -> Progress:
    """Step 0, no losses yet; the global generator seeded as every new run seeds it."""
    torch.manual_seed(seed)
    return Progress(
        step=0,
        history=torch.zeros((0, 2 + len(LOSS_NAMES)), dtype=torch.float64),
        epoch_sums=torch.zeros(len(LOSS_NAMES), device=device),
        nonfinite=torch.zeros((), dtype=torch.bool, device=device),
    )


def run_config(
    settings: TrainSettings,
    data: TrainingData,
    *,
    world: World,
    local_batch: int,
    device: torch.device,
    kernels: str,
    total_steps: int,
) -> dict:
    """config.json: the settings and what they came to on this machine."""
    return {
        "processes": world.size,
        "batch_per_process": local_batch,
        "settings": settings.to_dict(),
        "device": str(device),
        "kernels": kernels,
        "steps_per_epoch": data.steps_per_epoch,
        "total_steps": total_steps,
        "train_digits_a": len(data.train_a),
        "train_digits_b": len(data.train_b),
        "batch_size_meaning": "global: pairs per optimisation step",
        "mnistgan_version": __version__,
        "torch_version": torch.__version__,
    }
