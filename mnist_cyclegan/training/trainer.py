"""The Trainer: sets a run up and trains it step by step.

`Trainer.train` is the loop, in numbered sections; everything it calls has a name of its own:
what the run is built from (setup.py), what it tells as it goes (run_log.py), what it writes
(saving.py: checkpoints and exports). Ctrl-C and SIGTERM save a checkpoint before leaving, a
non-finite loss stops the run with the last good checkpoint kept, and a resumed CPU run is
bit-identical to an unbroken one.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import torch

from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.cyclegan.pixels import to_model
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.cyclegan.step import build_optimizers
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.fast.halves import train_step
from mnist_cyclegan.settings.resolve import Decided
from mnist_cyclegan.settings.run_options import RunOptions, resolve_device
from mnist_cyclegan.training import distributed
from mnist_cyclegan.training.batches import training_data
from mnist_cyclegan.training.checkpoint import Progress, load_checkpoint
from mnist_cyclegan.training.distributed import World
from mnist_cyclegan.training.eval_log import EvalLog
from mnist_cyclegan.training.export import export_generators, run_meta
from mnist_cyclegan.training.readers import task_networks, train_readers
from mnist_cyclegan.training.reporting import Reporter, Summary
from mnist_cyclegan.training.run_folder import LOGGED_TERMS, LOSS_NAMES, RunFiles
from mnist_cyclegan.training.run_log import RunLog
from mnist_cyclegan.training.saving import LossNotFinite, RunSaver
from mnist_cyclegan.training.schedule import learning_rate, set_learning_rate
from mnist_cyclegan.training.setup import fresh_progress, half_runner, run_config, run_networks
from mnist_cyclegan.training.signals import StopSignal
from mnist_cyclegan.training.watch import RunWatch
from mnist_cyclegan.variants.keep_labels import Readers
from mnist_cyclegan.variants.step import plans_for
from mnist_cyclegan.variants.task_network import TaskNetworks
from mnist_cyclegan.variants.weight_average import average_for

__all__ = ["LossNotFinite", "Trainer", "TrainingInterrupted"]


class TrainingInterrupted(MnistganError):
    """Ctrl-C or SIGTERM: the checkpoint is saved and the run can resume."""


class Trainer:
    """One run in one folder: `Trainer(decided, options).train()` trains it or resumes it.
    Its settings are final (settings/resolve.py decides them, with the images they were
    decided on): the Trainer changes none of them."""

    def __init__(
        self,
        decided: Decided,
        options: RunOptions,
        *,
        world: World | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        settings = decided.settings.validate()
        self.settings, self.sides, self.options = settings, decided.sides, options
        self.world = world or World()
        self.local_batch = distributed.check_batch(self.world, settings.batch_size)
        self.reporter = reporter if self.world.is_main else None
        self.device = resolve_device(str(options.device))
        self.kernels = options.kernels_for(self.device)
        self.files = RunFiles(Path(options.out))
        if self.world.is_main:  # the process that writes the folder holds it
            self.files.lock()
        try:
            self.files.check_for(resume=options.resume)
            self._set_up()
        except BaseException:
            self.files.forget_if_empty()
            raise

    def _set_up(self) -> None:
        """Data, networks, optimisers, pools, and the progress: fresh or from the checkpoint."""
        settings, device = self.settings, self.device
        self.data = training_data(settings, device, self.sides)
        self.sides = None  # the device copy is what the run keeps
        self.nets = run_networks(
            settings, self.data, kernels=self.kernels, world=self.world, device=device,
            memory_format=self.memory_format,
        )  # fmt: skip
        self.average = average_for(self.nets, settings.average_generators)
        self.optimizers = build_optimizers(self.nets, settings, device)
        self.pools = (
            ImagePool(settings.pool_size, settings.seed + 11),
            ImagePool(settings.pool_size, settings.seed + 12),
        )
        self.run_halves = half_runner(self.kernels, self.options.side_by_side, device)
        self.readers, self.task = self._readers(), self._task_networks()
        self.plans = plans_for(settings, self.readers, self.task)
        self.reduce_grads = (
            partial(distributed.average_gradients, world=self.world) if self.world.active else None
        )
        self._order_epoch, self._epoch_order = -1, None
        self.lr = settings.lr
        self.saver = RunSaver(self.files, settings, self.world, device)
        self.progress = (
            self.load() if self.options.resume else fresh_progress(settings.seed, device)
        )
        tensorboard = self.options.tensorboard if self.world.is_main else None
        self.log = RunLog(self.reporter, self._run_watch(), tensorboard)

    def _readers(self) -> Readers | None:
        """Semantic consistency's frozen readers, trained before the first step (and again,
        identically, on resume); None where the run does not keep labels."""
        if not (self.settings.keep_labels and self.settings.label_reader == "real"):
            return None
        self.data.keep_labels()
        return train_readers(self.settings, self.data, self.device)

    def _task_networks(self) -> TaskNetworks | None:
        """The other form's classifiers (variants/task_network.py), untrained: they learn as
        the run goes, and the checkpoint keeps them; None where the run does not use them."""
        if not (self.settings.keep_labels and self.settings.label_reader == "translated"):
            return None
        self.data.keep_labels()
        return task_networks(self.settings, self.data, self.device)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.options.channels_last else torch.contiguous_format

    @property
    def steps_per_epoch(self) -> int:
        return self.data.steps_per_epoch

    @property
    def total_steps(self) -> int:
        total = self.settings.epochs * self.steps_per_epoch
        return total if self.settings.steps is None else min(total, self.settings.steps)

    # -- save and load -----------------------------------------------------------------------

    def save(self) -> None:
        """Checkpoint, unless a loss went non-finite since the last one (then stop, keeping it)."""
        self.saver.checkpoint(
            self.nets, self.optimizers, self.pools, self.progress, self.average, self.task
        )

    def load(self) -> Progress:
        """Networks, optimisers, pools and RNG as the run folder's checkpoint has them."""
        return load_checkpoint(
            self.files.checkpoint,
            nets=self.nets,
            optimizers=self.optimizers,
            pools=self.pools,
            average=self.average,
            task=self.task,
            device=self.device,
            image_size=tuple(self.data.train_a.shape[-2:]),
        )

    def export(self, epoch: int) -> None:
        """weights.safetensors, the epoch's sample sheet and the loss log, for the user."""
        sheet = self.saver.export(self.left_by_run(), self.data, self.progress, epoch)
        if sheet is not None:
            self.log.samples(self.progress.step, sheet)

    # -- the loop ----------------------------------------------------------------------------

    def train(self) -> Summary:
        """Train from where the run stands to its last step; return where it ended. The run
        folder's lock is released when this returns or raises."""
        try:
            return self._train()
        finally:
            self.files.unlock()
            self.log.close()

    def _train(self) -> Summary:
        if self.world.is_main:
            config = run_config(
                self.settings, self.data, world=self.world, local_batch=self.local_batch,
                device=self.device, kernels=self.kernels, total_steps=self.total_steps,
            )  # fmt: skip
            self.files.prepare(config)
        eval_log = self._eval_log()
        started, first_step = time.perf_counter(), self.progress.step
        self.log.start(self.total_steps, self.progress.step, self.steps_per_epoch)
        epoch_started = time.perf_counter()
        with StopSignal() as stop:
            while self.progress.step < self.total_steps:
                epoch = self.progress.step // self.steps_per_epoch
                # 1. One optimisation step on this process's share of the batch.
                losses = self.step()
                # 2. Losses: accumulated every step, read back every --log-every steps.
                epoch_done = self._account(losses, epoch)
                # 3. Epoch end: the user's files and a checkpoint; else a checkpoint on request.
                if epoch_done:
                    self._end_epoch(epoch, time.perf_counter() - epoch_started)
                    epoch_started = time.perf_counter()
                elif self._checkpoint_due():
                    self.save()
                # 4. Held-out digits scored, with the time it takes kept out of training's.
                if eval_log is not None and self._eval_due():
                    self._evaluate(eval_log, started)
                # 5. Ctrl-C or SIGTERM: checkpoint, then leave with the resume command.
                self._stop_if_asked(stop)
        self.log.stop()
        # The last step always ends an epoch, whose checkpoint averaged the buffers: compare now.
        distributed.check_in_step(list(self.nets.named().values()), self.world, self.device)
        return self._summary(time.perf_counter() - started, self.progress.step - first_step)

    def step(self) -> torch.Tensor:
        """One optimisation step at the schedule's learning rate; the losses, not read back."""
        epoch, index = divmod(self.progress.step, self.steps_per_epoch)
        settings = self.settings
        lr = learning_rate(
            self.progress.step, base=settings.lr, steps_per_epoch=self.steps_per_epoch,
            epochs=settings.epochs, decay=settings.lr_decay_epochs,
        )  # fmt: skip
        self.lr = set_learning_rate(self.optimizers, lr)
        order = self._order(epoch)
        real_a, real_b = (self._model_input(batch) for batch in self.data.batch(order, index))
        losses = train_step(
            self.nets,
            self.optimizers,
            self.pools,
            real_a,
            real_b,
            self.settings,
            run_halves=self.run_halves,
            reduce_grads=self.reduce_grads,
            plans=self._plans(order, index),
            logged=LOGGED_TERMS,
        )
        if self.task is not None:  # the task networks learn from this step's translations
            self.task.update(self.reduce_grads)
        if self.average is not None:
            self.average.update(self.nets, self.progress.step + 1)
        return losses

    def left_by_run(self) -> Networks:
        """The networks the run exports, evaluates and watches: the live ones, or with
        `--average-generators` the averaged generators in their place
        (variants/weight_average.py)."""
        return self.nets if self.average is None else self.average.networks(self.nets)

    def _plans(self, order: tuple[torch.Tensor, torch.Tensor], index: int):
        """The step's plans, handed this process's share of the batch's labels where the run
        keeps them."""
        if not self.settings.keep_labels:
            return self.plans
        labels = tuple(
            None if side is None else distributed.local_share(side, self.world, self.local_batch)
            for side in self.data.batch_labels(order, index)
        )
        return partial(self.plans, labels=labels)

    def _order(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This epoch's shuffle of both domains, made once per epoch from (seed, epoch)."""
        if self._order_epoch != epoch:
            self._epoch_order = self.data.epoch_order(self.settings.seed, epoch)
            self._order_epoch = epoch
        return self._epoch_order

    def _model_input(self, batch: torch.Tensor) -> torch.Tensor:
        share = distributed.local_share(batch, self.world, self.local_batch)
        return to_model(share, self.settings.net.output).contiguous(
            memory_format=self.memory_format
        )

    def _account(self, losses: torch.Tensor, epoch: int) -> bool:
        """Add the step's losses to the epoch's, log them when due; True at an epoch's end."""
        progress = self.progress
        progress.nonfinite |= ~torch.isfinite(losses).all()
        progress.epoch_sums += losses
        progress.step += 1
        epoch_done = progress.step % self.steps_per_epoch == 0 or progress.step == self.total_steps
        if progress.step % self.options.log_every == 0 or epoch_done:
            if distributed.any_rank(progress.nonfinite, self.world, self.device):
                self.save()  # raises LossNotFinite, writes nothing
            values = distributed.mean_over_processes(losses, self.world).tolist()
            row = torch.tensor([[progress.step, epoch, *values]], dtype=torch.float64)
            progress.history = torch.cat([progress.history, row])
            named = dict(zip(LOSS_NAMES, values, strict=True))
            self.log.logged(progress.step, named, self.lr, self.left_by_run())
        return epoch_done

    def _run_watch(self) -> RunWatch | None:
        if not self.world.is_main:
            return None
        log_every, output = self.options.log_every, self.settings.net.output
        return RunWatch(self.data, self.total_steps, log_every, output, self.device)

    def _end_epoch(self, epoch: int, seconds: float) -> None:
        steps_in_epoch = self.progress.step - epoch * self.steps_per_epoch
        means = (self.progress.epoch_sums / steps_in_epoch).tolist()
        self.log.epoch(epoch, dict(zip(LOSS_NAMES, means, strict=True)), seconds)
        self.export(epoch)
        self.progress.epoch_sums.zero_()
        self.save()

    def _checkpoint_due(self) -> bool:
        every = self.options.checkpoint_every
        return bool(every) and self.progress.step % every == 0

    def _eval_log(self) -> EvalLog | None:
        if not (self.options.eval_every and self.world.is_main):
            return None
        channels = (self.data.arrays_a.channels, self.data.arrays_b.channels)
        meta = run_meta(self.settings, channels, step=None, epoch=None)
        return EvalLog(
            self.files.eval_csv,
            meta,
            self.options.eval_limit,
            self.device,
            resume_step=self.progress.step,
        )

    def _eval_due(self) -> bool:
        step = self.progress.step
        return step % self.options.eval_every == 0 or step == self.total_steps

    def _evaluate(self, eval_log: EvalLog, run_started: float) -> None:
        paused = time.perf_counter()
        g_ab, g_ba = export_generators(self.left_by_run(), self.data, self.settings)
        training_seconds = paused - run_started - eval_log.seconds_spent
        eval_log.record(self.progress.step, training_seconds, g_ab, g_ba)
        eval_log.seconds_spent += time.perf_counter() - paused

    def _stop_if_asked(self, stop: StopSignal) -> None:
        stopping = stop.received is not None
        if self.world.active:  # every process stops at the same step
            stopping = distributed.any_rank(stopping, self.world, self.device)
        if not stopping or self.progress.step >= self.total_steps:
            return
        self.save()
        self.log.stop()
        raise TrainingInterrupted(
            f"{stop.name} at step {self.progress.step}: checkpoint saved to "
            f"{self.files.checkpoint}; resume with: mnistgan train --out {self.files.folder} "
            "--resume"
        )

    def _summary(self, seconds: float, steps_run: int) -> Summary:
        return Summary(
            step=self.progress.step,
            total_steps=self.total_steps,
            seconds=seconds,
            pairs_per_second=steps_run * self.settings.batch_size / seconds if seconds else 0.0,
            final_losses=self.progress.last_losses(),
            folder=str(self.files.folder),
            processes=self.world.size,
            warnings=tuple(self.log.warnings),
        )
