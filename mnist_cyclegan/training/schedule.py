"""The learning-rate schedule, a pure function of the step, and its setting on the optimisers."""

from __future__ import annotations

import torch


def learning_rate(
    step: int, *, base: float, steps_per_epoch: int, epochs: int, decay: int
) -> float:
    """The CycleGAN paper's schedule:

    1. constant `base` for the first `epochs − decay` epochs;
    2. then linear decay, reaching 0 at the end of the last epoch.
    """
    if decay == 0:
        return base
    epoch = step / steps_per_epoch
    return base * min(1.0, max(0.0, (epochs - epoch) / decay))


def set_learning_rate(optimizers: tuple[torch.optim.Optimizer, ...], lr: float) -> float:
    """Give every parameter group of `optimizers` the rate `lr`; return it."""
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr
    return lr
