"""Batch-norm running statistics that are right after a short run.

With the reference's decay of 0.999 the running mean and variance move 0.1% a step: after a few
hundred steps they still mostly hold their initial values, and an eval-mode generator paints
washed-out grey although the same weights with batch statistics translate well. So before
weights are exported we re-estimate the statistics as a plain average over training batches
(PyTorch's cumulative mode, momentum=None), on a copy that leaves the training state untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@torch.no_grad()
def recalibrated_copy(generator: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """An eval-mode copy of `generator` whose batch-norm statistics average the given batches."""
    clone = copy.deepcopy(generator)
    if not has_batch_norm(clone):
        return clone.eval()
    norms = [m for m in clone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved_momentum = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over every batch shown
    clone.train()
    for batch in batches:
        clone(batch)
    for norm, momentum in zip(norms, saved_momentum, strict=True):
        norm.momentum = momentum
    return clone.eval()


def use_batch_statistics(generator: nn.Module) -> nn.Module:
    """A copy that normalises with each batch's own statistics at inference, updating nothing."""
    clone = copy.deepcopy(generator).eval()
    for module in clone.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.track_running_stats = False
            module.running_mean = None
            module.running_var = None
    return clone
