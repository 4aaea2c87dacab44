"""`train --tensorboard DIR`: losses, learning rate and sample grids as TensorBoard events."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_cyclegan.errors import MnistganError


class TensorBoardLog:
    """What the run logs, written with PyTorch's SummaryWriter (the tensorboard package)."""

    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MnistganError(
                "--tensorboard needs the tensorboard package: pip install 'mnistgan[tensorboard]'"
            ) from None
        if folder.exists() and not folder.is_dir():
            raise MnistganError(f"{folder}: is a file, not a folder for TensorBoard")
        try:
            self.writer = SummaryWriter(log_dir=str(folder))
        except OSError as error:
            raise MnistganError(f"{folder}: cannot write ({error.strerror or error})") from None

    def losses(self, step: int, losses: dict[str, float], lr: float) -> None:
        for name, value in losses.items():
            self.writer.add_scalar(f"loss/{name}", value, step)
        self.writer.add_scalar("learning_rate", lr, step)

    def samples(self, step: int, sheet: np.ndarray) -> None:
        """The epoch's sample sheet (rows A, A→B, A→B→A, B, B→A, B→A→B), H×W×3 uint8."""
        self.writer.add_image("samples", sheet, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()
