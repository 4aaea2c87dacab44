"""What a training run tells its user while it runs, and where it ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Reporter(Protocol):
    """What the loop tells its user; the CLI draws it with Rich (console.py)."""

    def start(self, total: int, completed: int, steps_per_epoch: int) -> None: ...

    def step(self, step: int, losses: dict[str, float] | None) -> None: ...

    def epoch(self, epoch: int, means: dict[str, float], seconds: float) -> None: ...

    def warn(self, message: str) -> None: ...

    def stop(self) -> None: ...


class SilentReporter:
    """Tells nothing: for library use, tests, and every process but the first under torchrun."""

    def start(self, total: int, completed: int, steps_per_epoch: int) -> None: ...

    def step(self, step: int, losses: dict[str, float] | None) -> None: ...

    def epoch(self, epoch: int, means: dict[str, float], seconds: float) -> None: ...

    def warn(self, message: str) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Summary:
    """Where a run ended."""

    step: int
    total_steps: int
    seconds: float
    pairs_per_second: float
    final_losses: dict[str, float]
    folder: str
    processes: int
    warnings: tuple[str, ...] = ()  # what the failure watch said (training/watch.py)
