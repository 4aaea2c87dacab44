"""Two independent halves of a training step, run side by side on two CPU threads.

A CycleGAN step splits into two chains that share no intermediate tensor: a → G_ab → G_ba with
D_B judging the fake, and b → G_ba → G_ab with D_A; the discriminator update splits into D_A's
and D_B's. On a small CPU, PyTorch's kernels use the cores less well when they split each
operation between them than when each core runs a chain of its own. What side by side gains is
measured by `python benchmarks/bench_train.py` (the -side-by-side row, BENCHMARKS.md).

Running them concurrently needs three things to stay exact and deterministic:
- Gradients: each chain takes its own with `torch.autograd.grad`, and they are added in a
  fixed order (two threads accumulating into `.grad` would add in whatever order they finish).
- Batch-norm running statistics: a module used by both chains would be updated by two threads
  at once. The second chain updates private copies instead (`DeferrableBatchNorm2d`), and
  `NormStatsSnapshot.merge` then gives exactly what updating the chains one after the other
  would give (in real arithmetic): with decay d = 1 − momentum and k updates in the second
  chain, r = r₂ + dᵏ (r₁ − r₀).
- Random numbers: drawn before the threads start, or from each chain's own generator.

Each chain runs on one fixed thread with a fixed thread count, so a step repeats bit for bit
(tests/test_chains.py), once one more thing is in place: oneDNN's CPU weight-gradient kernels
are not safe on two threads at once (results differed by one bf16 step from run to run). So
every conv takes its weight gradient either as a GEMM or under one lock (gemm_conv.py).
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
    """The running statistics of batch-norm modules before a step's chains start, and the
    second chain's private copies of them."""

    def __init__(self, modules: Iterable[nn.Module]) -> None:
        norms = [m for module in modules for m in module.modules()]
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
        """Fold the second chain's updates into the modules, after the first chain's."""
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


def chains_pay(device: torch.device) -> bool:
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
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mnistgan-chain")
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
