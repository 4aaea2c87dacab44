"""What a run writes of itself: the resumable checkpoint, and at each epoch's end the user's
files (deployable weights, a sample sheet, the loss log). Only the process that writes the
folder writes them; every process takes part in what the checkpoint must agree on."""

from __future__ import annotations

import numpy as np
import torch

from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.images import save_png
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.training import distributed
from mnist_cyclegan.training.batches import TrainingData
from mnist_cyclegan.training.checkpoint import Optimizers, Progress, save_checkpoint
from mnist_cyclegan.training.distributed import World
from mnist_cyclegan.training.export import export_generators, run_meta, sample_sheet
from mnist_cyclegan.training.run_folder import RunFiles, write_losses
from mnist_cyclegan.variants.task_network import TaskNetworks
from mnist_cyclegan.variants.weight_average import GeneratorAverage
from mnist_cyclegan.weights import save_generators


class LossNotFinite(MnistganError):
    """A loss turned NaN or infinite; the last good checkpoint is left as it was."""


class RunSaver:
    """Writes one run's checkpoint and exports into its folder."""

    def __init__(
        self, files: RunFiles, settings: TrainSettings, world: World, device: torch.device
    ) -> None:
        self.files, self.settings, self.world, self.device = files, settings, world, device

    def checkpoint(
        self,
        nets: Networks,
        optimizers: Optimizers,
        pools: tuple[ImagePool, ImagePool],
        progress: Progress,
        average: GeneratorAverage | None,
        task: TaskNetworks | None = None,
    ) -> None:
        """Checkpoint, unless a loss went non-finite since the last one (then stop, keeping it)."""
        if distributed.any_rank(progress.nonfinite, self.world, self.device):
            raise LossNotFinite(
                f"a loss became NaN or infinite before step {progress.step}; stopped, "
                f"the last good checkpoint ({self.files.checkpoint}) is kept"
            )
        distributed.average_buffers(list(nets.named().values()), self.world)
        if self.world.is_main:
            save_checkpoint(
                self.files.checkpoint,
                settings=self.settings,
                nets=nets,
                optimizers=optimizers,
                pools=pools,
                progress=progress,
                average=average,
                task=task,
            )

    def export(
        self, left: Networks, data: TrainingData, progress: Progress, epoch: int
    ) -> np.ndarray | None:
        """weights.safetensors of the networks the run leaves, the epoch's sample sheet and
        the loss log; return the sheet (None on the processes that write nothing)."""
        if not self.world.is_main:
            return None
        g_ab, g_ba = export_generators(left, data, self.settings)
        channels = (g_ab.in_channels, g_ab.out_channels)
        meta = run_meta(self.settings, channels, step=progress.step, epoch=epoch)
        save_generators(self.files.weights, g_ab, g_ba, meta)
        sheet = sample_sheet(g_ab, g_ba, data, meta.output)
        save_png(self.files.sample(epoch), sheet)
        write_losses(self.files, progress.history)
        return sheet
