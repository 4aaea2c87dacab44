"""Side by side: a training step's two independent halves on two CPU threads.

A CycleGAN update splits into two halves that share no intermediate tensor
(mnist_cyclegan/fast/halves.py): a → G_ab → G_ba with D_b judging the fake beside
b → G_ba → G_ab with D_a, and D_a's loss beside D_b's. On a small CPU, PyTorch's kernels use
the cores less well when they split each operation between them than when each core runs a
half of its own. What side by side gains is measured by `python benchmarks/bench_train.py`
(the -side-by-side row, docs/measurements.md). `run_side_by_side` is a drop-in for the step's
`one_after_the_other`.

Running the halves concurrently needs three things to stay exact and deterministic:
- Gradients: each half takes its own with `torch.autograd.grad` and the step adds them in a
  fixed order (two threads accumulating into `.grad` would add in whatever order they finish).
- Batch-norm running statistics: a module used by both halves would be updated by two threads
  at once. The second half updates private copies instead (`DeferrableBatchNorm2d`), and
  `NormStatsSnapshot.merge` then gives exactly what running the halves one after the other
  would give (in real arithmetic): with decay d = 1 − momentum and k updates in the second
  half, r = r₂ + dᵏ (r₁ − r₀).
- Random numbers: drawn before the threads start, or from each half's own generator.

Each half runs on one fixed thread with a fixed thread count, so a step repeats bit for bit
(tests/test_side_by_side.py), once one more thing is in place: oneDNN's CPU weight-gradient
kernels are not safe on two threads at once (results differed by one bf16 step from run to
run). So every conv of the speed kit takes its weight gradient either as a GEMM or under one
lock (gemm_conv.py). Only networks built by the speed kit (fast/layers.py) can run side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

T = TypeVar("T")
U = TypeVar("U")

_local = threading.local()  # .stats: the NormStatsSnapshot this thread updates instead
_worker: ThreadPoolExecutor | None = None


class DeferrableBatchNorm2d(nn.BatchNorm2d):
    """`nn.BatchNorm2d` whose running statistics a thread can keep aside (see module doc).

    The same parameters, buffers and names, so weight files and checkpoints do not change."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats: NormStatsSnapshot | None = getattr(_local, "stats", None)
        if stats is None or self not in stats.copies or not self.training or self.momentum is None:
            return super().forward(x)
        mean, var = stats.private(self)
        return F.batch_norm(x, mean, var, self.weight, self.bias, True, self.momentum, self.eps)


class NormStatsSnapshot:
    """The running statistics of batch-norm modules before a step's halves start, and the
    second half's private copies of them."""

    def __init__(self, modules: Iterable[nn.Module]) -> None:
        norms = [m for module in modules for m in module.modules()]
        plain = [m for m in norms if type(m) is nn.BatchNorm2d and m.track_running_stats]
        if plain:  # a programming error, not a user's: its statistics would race
            raise TypeError("side by side needs the speed kit's DeferrableBatchNorm2d layers")
        self.before: dict[DeferrableBatchNorm2d, tuple[torch.Tensor, torch.Tensor]] = {
            m: (m.running_mean.clone(), m.running_var.clone())
            for m in norms
            if isinstance(m, DeferrableBatchNorm2d) and m.track_running_stats
        }
        self.copies = {m: (mean.clone(), var.clone()) for m, (mean, var) in self.before.items()}
        self.updates = dict.fromkeys(self.before, 0)

    def private(self, module: DeferrableBatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
        self.updates[module] += 1
        return self.copies[module]

    def merge(self) -> None:
        """Fold the second half's updates into the modules, after the first half's."""
        for module, count in self.updates.items():
            if count == 0:
                continue
            decay = (1.0 - module.momentum) ** count
            for live, before, copy in zip(
                (module.running_mean, module.running_var),
                self.before[module],
                self.copies[module],
                strict=True,
            ):
                live.copy_(copy + decay * (live - before))
            module.num_batches_tracked.add_(count)


def side_by_side_pays(device: torch.device) -> bool:
    """Side by side only on a CPU with at least two threads to share."""
    return device.type == "cpu" and torch.get_num_threads() >= 2


def run_side_by_side(
    first: Callable[[], T], second: Callable[[], U], modules: Iterable[nn.Module]
) -> tuple[T, U]:
    """`first()` on this thread and `second()` on a worker, each with half the CPU threads;
    batch-norm statistics of `modules` (those `second` runs) come out as if `first` had run
    before `second`."""
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mnistgan-half")
    threads = torch.get_num_threads()
    stats = NormStatsSnapshot(modules)

    def on_worker() -> U:
        torch.set_num_threads(max(1, threads // 2))
        _local.stats = stats
        try:
            return second()
        finally:
            _local.stats = None

    torch.set_num_threads(max(1, threads - threads // 2))
    try:
        pending = _worker.submit(on_worker)
        try:
            first_result = first()
        finally:
            second_result = pending.result()  # waits, and raises what `second` raised
    finally:
        torch.set_num_threads(threads)
    stats.merge()
    return first_result, second_result
