"""The resumable checkpoint: all four networks, both optimisers, step, RNG and loss history.

Stored as safetensors (tensors) plus JSON metadata (settings, step, optimiser hyper-parameters),
so resuming never unpickles anything and a resumed CPU run is bit-identical to an unbroken one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from mnist_cyclegan.config import TrainSettings
from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.tensor_files import load_tensors, save_tensors

CHECKPOINT_FORMAT = "mnistgan-checkpoint"
Optimizers = tuple[torch.optim.Optimizer, torch.optim.Optimizer]


@dataclass
class Progress:
    """Where a run stands: the step count, the loss log so far, and this epoch's running sums."""

    step: int
    history: torch.Tensor  # rows of (step, epoch, *losses), float64
    epoch_sums: torch.Tensor  # per-loss sums over the current epoch's steps
    nonfinite: torch.Tensor  # a 0-d bool: has any loss this epoch been NaN or infinite


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    tensors = {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            tensors[f"{prefix}.{index}.{key}"] = torch.as_tensor(value)
    return tensors


def restore_optimizer(
    prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list
) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            index, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    # Safetensors stores tensors contiguous, but a channels-last weight's moments were created
    # channels-last. Fused Adam walks parameter and moments as flat memory, so a moment restored
    # in the other layout would be updated against the wrong elements; give each its
    # parameter's strides back (the unfused Adam did not care, the result is the same values).
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            moments = optimizer.state.get(parameter, {})
            for key, value in moments.items():
                if torch.is_tensor(value) and value.shape == parameter.shape:
                    moments[key] = torch.empty_like(parameter, dtype=value.dtype).copy_(value)


def save_checkpoint(
    path: Path,
    *,
    settings: TrainSettings,
    nets: Networks,
    optimizers: Optimizers,
    pools: tuple[ImagePool, ImagePool],
    progress: Progress,
) -> None:
    """Everything a bit-identical resume needs, as one safetensors file written atomically."""
    opt_g, opt_d = optimizers
    tensors: dict[str, torch.Tensor] = {}
    for name, module in nets.named().items():
        tensors.update({f"net.{name}.{k}": v for k, v in module.state_dict().items()})
    tensors.update(optimizer_tensors("opt_g", opt_g))
    tensors.update(optimizer_tensors("opt_d", opt_d))
    tensors.update(pools[0].state("pool_a"))
    tensors.update(pools[1].state("pool_b"))
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["history"] = progress.history
    tensors["epoch_sums"] = progress.epoch_sums
    tensors["nonfinite"] = progress.nonfinite.to(torch.uint8).reshape(1)
    meta = {
        "settings": settings.to_dict(),
        "step": progress.step,
        "opt_g_groups": opt_g.state_dict()["param_groups"],
        "opt_d_groups": opt_d.state_dict()["param_groups"],
    }
    save_tensors(path, tensors, CHECKPOINT_FORMAT, meta)


def read_checkpoint_settings(path: Path) -> TrainSettings:
    """The settings a run was started with, from its checkpoint."""
    _, meta = load_tensors(path, CHECKPOINT_FORMAT)
    try:
        return TrainSettings.from_dict(meta["settings"])
    except (KeyError, TypeError) as error:
        raise MnistganError(f"{path}: checkpoint settings unreadable ({error})") from None


def load_checkpoint(
    path: Path,
    *,
    nets: Networks,
    optimizers: Optimizers,
    pools: tuple[ImagePool, ImagePool],
    device: torch.device,
) -> Progress:
    """Restore everything `save_checkpoint` wrote, in place; return the progress."""
    opt_g, opt_d = optimizers
    tensors, meta = load_tensors(path, CHECKPOINT_FORMAT)
    try:
        for name, module in nets.named().items():
            prefix = f"net.{name}."
            state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            module.load_state_dict(state, strict=True)
        restore_optimizer("opt_g", opt_g, tensors, meta["opt_g_groups"])
        restore_optimizer("opt_d", opt_d, tensors, meta["opt_d_groups"])
        pools[0].load_state(tensors, "pool_a", device)
        pools[1].load_state(tensors, "pool_b", device)
        torch.set_rng_state(tensors["rng.torch"])
        return Progress(
            step=int(meta["step"]),
            history=tensors["history"],
            epoch_sums=tensors["epoch_sums"].to(device),
            nonfinite=tensors["nonfinite"].to(device).bool().reshape(()),
        )
    except (KeyError, ValueError, RuntimeError) as error:
        raise MnistganError(f"{path}: checkpoint does not fit this run ({error!s:.160})") from None
