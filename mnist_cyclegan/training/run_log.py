"""What a run tells as it goes: the reporter on screen, TensorBoard, and the watch's warnings.

One object the loop hands each logged step's losses, each epoch's means and each sample sheet;
it passes them to whichever of those the run has (only the process that writes the folder
shows or logs anything), and keeps the warnings for the run's summary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.training.reporting import Reporter, SilentReporter
from mnist_cyclegan.training.tensorboard import TensorBoardLog
from mnist_cyclegan.training.watch import RunWatch


class RunLog:
    """The reporter, TensorBoard events (`--tensorboard`) and the failure watch of one run."""

    def __init__(
        self,
        reporter: Reporter | None,
        watch: RunWatch | None,
        tensorboard: Path | None,
    ) -> None:
        self.reporter: Reporter = reporter if reporter is not None else SilentReporter()
        self.watch = watch
        self.tensorboard = TensorBoardLog(tensorboard) if tensorboard is not None else None
        self.warnings: list[str] = []

    def start(self, total_steps: int, step: int, steps_per_epoch: int) -> None:
        self.reporter.start(total_steps, step, steps_per_epoch)

    def logged(
        self,
        step: int,
        losses: dict[str, float],
        lr: float,
        networks: Networks,
    ) -> None:
        """A logged step: on screen, to TensorBoard, and read by the watch, which judges the
        `networks` the run leaves."""
        self.reporter.step(step, losses)
        self.watch_step(step, losses, networks)
        if self.tensorboard is not None:
            self.tensorboard.losses(step, losses, lr)

    def watch_step(self, step: int, losses: dict[str, float], networks: Networks) -> None:
        """Warn, while it happens, of a run that is not translating (training/watch.py)."""
        if self.watch is None:
            return
        for message in self.watch.after_log(step, losses, networks):
            self.reporter.warn(message)
            self.warnings.append(message)

    def epoch(self, epoch: int, means: dict[str, float], seconds: float) -> None:
        self.reporter.epoch(epoch, means, seconds)

    def samples(self, step: int, sheet: np.ndarray) -> None:
        if self.tensorboard is not None:
            self.tensorboard.samples(step, sheet)

    def stop(self) -> None:
        self.reporter.stop()

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
