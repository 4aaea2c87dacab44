"""The training loop: batches, steps, logging, epoch-end outputs, checkpoints and resume.

The run folder it fills: config.json, losses.csv, losses.png, samples/epoch-NNN.png,
weights.safetensors (generators only, enough to deploy) and checkpoint.safetensors (enough to
resume). Every file is written atomically; Ctrl-C and SIGTERM save a checkpoint before leaving.
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from mnist_cyclegan import __version__
from mnist_cyclegan.atomic import write_text_atomic
from mnist_cyclegan.batches import TrainingData, training_data
from mnist_cyclegan.calibrate import recalibrated_copy
from mnist_cyclegan.chains import chains_pay
from mnist_cyclegan.checkpoint import Progress, load_checkpoint, save_checkpoint
from mnist_cyclegan.distributed import (
    World,
    any_rank,
    average_buffers,
    average_gradients,
    broadcast_state,
    check_batch,
    check_in_step,
    sync_batch_norm,
)
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.images import grid, save_png, to_rgb, upscale
from mnist_cyclegan.losses import ImagePool
from mnist_cyclegan.model import Networks, build_networks, build_optimizers, to_model, to_pixels
from mnist_cyclegan.plots import panel, save_image, side_by_side
from mnist_cyclegan.settings import TrainSettings
from mnist_cyclegan.step import LOSS_NAMES, train_step
from mnist_cyclegan.weights import save_generators

CALIBRATION_BATCHES = 16


class TrainingInterrupted(MnistganError):
    """Ctrl-C or SIGTERM: the checkpoint is saved and the run can resume."""


class LossNotFinite(MnistganError):
    """A loss turned NaN or infinite; the last good checkpoint is left as it was."""


@dataclass
class RunFiles:
    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "config.json"

    @property
    def losses_csv(self) -> Path:
        return self.folder / "losses.csv"

    @property
    def losses_png(self) -> Path:
        return self.folder / "losses.png"

    @property
    def weights(self) -> Path:
        return self.folder / "weights.safetensors"

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint.safetensors"

    def sample(self, epoch: int) -> Path:
        return self.folder / "samples" / f"epoch-{epoch:03d}.png"


class Reporter:
    """What the loop tells its user; the CLI draws it with Rich, tests may stay silent."""

    def start(self, total: int, completed: int, steps_per_epoch: int) -> None: ...

    def step(self, step: int, losses: dict[str, float] | None) -> None: ...

    def epoch(self, epoch: int, means: dict[str, float], seconds: float) -> None: ...

    def stop(self) -> None: ...


def learning_rate(
    step: int, *, base: float, steps_per_epoch: int, epochs: int, decay: int
) -> float:
    """The paper's schedule, a pure function of the step.

    1. constant `base` for the first `epochs − decay` epochs;
    2. then linear decay, reaching 0 at the end of the last epoch.
    """
    if decay == 0:
        return base
    epoch = step / steps_per_epoch
    return base * min(1.0, max(0.0, (epochs - epoch) / decay))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MnistganError(f"--device {name}: CUDA is not available on this machine")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise MnistganError(f"--device {name}: choose auto, cpu or cuda")
    return torch.device(name)


class StopSignal:
    """Turns SIGINT/SIGTERM into a flag the loop checks between steps, then restores handlers."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopSignal:
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[number] = signal.signal(number, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, number: int, frame) -> None:
        self.received = number

    def __exit__(self, *exc) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


def export_generators(nets: Networks, data: TrainingData, settings: TrainSettings):
    """Eval-mode copies of both generators with batch-norm statistics re-estimated on training
    batches (see calibrate.py); the training networks are not touched."""
    count = min(CALIBRATION_BATCHES, data.steps_per_epoch)
    order = data.epoch_order(settings.seed + 7919, 0)
    batches = [data.batch(order, i) for i in range(count)]
    output = settings.net.output
    g_ab = recalibrated_copy(nets.g_ab, (to_model(a, output) for a, _ in batches))
    g_ba = recalibrated_copy(nets.g_ba, (to_model(b, output) for _, b in batches))
    return g_ab, g_ba


@torch.no_grad()
def sample_sheet(g_ab, g_ba, data: TrainingData, output: str) -> np.ndarray:
    """Rows: A inputs, A→B, A→B→A, B inputs, B→A, B→A→B (8 fixed test digits each)."""
    real_a, real_b = to_model(data.test_a, output), to_model(data.test_b, output)
    fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    rows = [real_a, fake_b, g_ba(fake_b), real_b, fake_a, g_ab(fake_a)]
    pixels = np.concatenate([to_rgb(to_pixels(row, output)) for row in rows])
    return upscale(grid(pixels, columns=8), 3)


def write_losses(files: RunFiles, history: torch.Tensor) -> None:
    rows = history.tolist()
    lines = [",".join(("step", "epoch", *LOSS_NAMES))]
    lines += [
        ",".join([str(int(r[0])), str(int(r[1]))] + [f"{v:.6g}" for v in r[2:]]) for r in rows
    ]
    write_text_atomic(files.losses_csv, "\n".join(lines) + "\n")
    steps = [r[0] for r in rows]
    column = {name: [r[2 + i] for r in rows] for i, name in enumerate(LOSS_NAMES)}
    sheet = side_by_side(
        [
            panel(steps, {"cycle": column["cycle"]}, "cycle loss (L1, both ways)"),
            panel(steps, {"G_ba (makes A)": column["g_gan_ba"], "D_a": column["d_a"]}, "domain A"),
            panel(steps, {"G_ab (makes B)": column["g_gan_ab"], "D_b": column["d_b"]}, "domain B"),
        ]
    )
    save_image(files.losses_png, sheet)


class EvalLog:
    """`--eval-every`: the eval metrics on held-out digits during training, one row per call."""

    COLUMNS = (
        "accuracy",
        "accuracy_batch_stats",
        "psnr",
        "color_w1",
        "flatness",
        "fid",
        "cycle_l1",
    )

    def __init__(
        self,
        path: Path,
        settings: TrainSettings,
        limit: int,
        device: torch.device,
        resume_step: int,
    ):
        from mnist_cyclegan.evaluate import prepare_sides

        self.path, self.limit, self.device = path, limit, device
        self.seconds_spent = 0.0  # evaluation time, kept out of the training wall time
        self.meta = {
            "domain_a": settings.domain_a,
            "domain_b": settings.domain_b,
            "style": settings.style,
            "settings": settings.to_dict(),
            "net": settings.net.to_dict(),
        }
        self.sides = prepare_sides(self.meta, device)
        self.lines = [",".join(["step", "seconds", *self._names()])]
        if path.exists() and resume_step > 0:  # a resumed run continues its log from its step
            kept = path.read_text().splitlines()[1:]
            self.lines += [line for line in kept if int(line.split(",")[0]) <= resume_step]

    def _names(self) -> list[str]:
        return [f"{d}_{c}" for d in ("a2b", "b2a") for c in self.COLUMNS]

    def record(self, step: int, seconds: float, g_ab, g_ba) -> dict:
        from mnist_cyclegan.evaluate import evaluate

        results, _ = evaluate(
            g_ab, g_ba, self.meta, limit=self.limit, device=self.device, sides=self.sides
        )
        values = [results[d].get(c, float("nan")) for d in ("a2b", "b2a") for c in self.COLUMNS]
        self.lines.append(",".join([str(step), f"{seconds:.1f}", *(f"{v:.6g}" for v in values)]))
        write_text_atomic(self.path, "\n".join(self.lines) + "\n")
        return results


def run_training(
    settings: TrainSettings,
    *,
    out: Path,
    device: torch.device,
    resume: bool = False,
    checkpoint_every: int = 0,
    log_every: int = 10,
    reporter: Reporter | None = None,
    poison_step: int | None = None,
    channels_last: bool = True,
    two_threads: bool = True,
    eval_every: int = 0,
    eval_limit: int = 1000,
    world: World | None = None,
) -> dict:
    """Train (or resume) a run in `out`; return a summary of where it ended."""
    settings.validate()
    world = world or World()
    local_batch = check_batch(world, settings.batch_size)
    reporter = reporter if (reporter is not None and world.is_main) else Reporter()
    files = RunFiles(Path(out))
    if not resume and files.checkpoint.exists():
        raise MnistganError(f"{files.folder}: already holds a run (use --resume or another --out)")
    if resume and not files.checkpoint.exists():
        raise MnistganError(f"{files.checkpoint}: no checkpoint to resume from")

    data = training_data(settings, device)
    channels_a, channels_b = data.arrays_a.channels, data.arrays_b.channels
    nets = build_networks(settings.net, channels_a, channels_b, settings.seed, device)
    for name, module in nets.named().items():
        setattr(nets, name.lower(), sync_batch_norm(module, world, device))
    broadcast_state(list(nets.named().values()), world)
    average = partial(average_gradients, world=world) if world.active else None
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for module in nets.named().values():
        module.to(memory_format=memory_format)  # NHWC: faster oneDNN/cuDNN convolutions
    opt_g, opt_d = build_optimizers(nets, settings, device)
    pools = (
        ImagePool(settings.pool_size, settings.seed + 11),
        ImagePool(settings.pool_size, settings.seed + 12),
    )
    spe = data.steps_per_epoch
    total = settings.epochs * spe
    if settings.steps is not None:
        total = min(total, settings.steps)
    if resume:
        progress = load_checkpoint(
            files.checkpoint, nets=nets, opt_g=opt_g, opt_d=opt_d, pools=pools, device=device
        )
    else:
        torch.manual_seed(settings.seed)
        progress = Progress(
            step=0,
            history=torch.zeros((0, 2 + len(LOSS_NAMES)), dtype=torch.float64),
            epoch_sums=torch.zeros(len(LOSS_NAMES), device=device),
            nonfinite=torch.zeros((), dtype=torch.bool, device=device),
        )
    config = {
        "processes": world.size,
        "batch_per_process": local_batch,
        "settings": settings.to_dict(),
        "device": str(device),
        "steps_per_epoch": spe,
        "total_steps": total,
        "train_digits_a": len(data.train_a),
        "train_digits_b": len(data.train_b),
        "batch_size_meaning": "global: pairs per optimisation step",
        "mnistgan_version": __version__,
        "torch_version": torch.__version__,
    }
    if world.is_main:
        files.folder.mkdir(parents=True, exist_ok=True)
        for stale in files.folder.rglob(".*.tmp"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)
        write_text_atomic(files.config, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def checkpoint_now() -> None:
        if any_rank(progress.nonfinite, world, device):
            raise LossNotFinite(
                f"a loss became NaN or infinite before step {progress.step}; stopped, "
                f"the last good checkpoint ({files.checkpoint}) is kept"
            )
        average_buffers(list(nets.named().values()), world)
        if not world.is_main:
            return
        save_checkpoint(
            files.checkpoint,
            settings=settings,
            nets=nets,
            opt_g=opt_g,
            opt_d=opt_d,
            pools=pools,
            progress=progress,
        )

    def export(epoch: int) -> None:
        if not world.is_main:
            return
        g_ab, g_ba = export_generators(nets, data, settings)
        info = {
            "domain_a": settings.domain_a,
            "domain_b": settings.domain_b,
            "style": settings.style,
            "step": progress.step,
            "epoch": epoch,
            "settings": settings.to_dict(),
            "batch_norm_stats": f"re-estimated on {CALIBRATION_BATCHES} training batches",
        }
        save_generators(files.weights, g_ab, g_ba, net=settings.net, info=info)
        save_png(files.sample(epoch), sample_sheet(g_ab, g_ba, data, settings.net.output))
        write_losses(files, progress.history)

    eval_log = None
    if eval_every and world.is_main:
        eval_csv = files.folder / "eval.csv"
        eval_log = EvalLog(eval_csv, settings, eval_limit, device, resume_step=progress.step)
    run_started = time.perf_counter()

    reporter.start(total, progress.step, spe)
    order, order_epoch = None, -1
    epoch_started = time.perf_counter()
    started_at_step = progress.step
    with StopSignal() as stop:
        while progress.step < total:
            epoch, index = divmod(progress.step, spe)
            if epoch != order_epoch:
                order, order_epoch = data.epoch_order(settings.seed, epoch), epoch
            lr = learning_rate(
                progress.step,
                base=settings.lr,
                steps_per_epoch=spe,
                epochs=settings.epochs,
                decay=settings.lr_decay_epochs,
            )
            for group in (*opt_g.param_groups, *opt_d.param_groups):
                group["lr"] = lr
            real_a, real_b = data.batch(order, index)
            if world.active:  # this process's slice of the global batch
                share = slice(world.rank * local_batch, (world.rank + 1) * local_batch)
                real_a, real_b = real_a[share], real_b[share]
            output = settings.net.output
            losses = train_step(
                nets,
                opt_g,
                opt_d,
                pools,
                to_model(real_a, output).contiguous(memory_format=memory_format),
                to_model(real_b, output).contiguous(memory_format=memory_format),
                settings,
                poison=poison_step == progress.step + 1,
                average=average,
                side_by_side=two_threads and chains_pay(device),
            )
            progress.nonfinite |= ~torch.isfinite(losses).all()
            progress.epoch_sums += losses
            progress.step += 1
            epoch_done = progress.step % spe == 0 or progress.step == total
            if progress.step % log_every == 0 or epoch_done:
                if any_rank(progress.nonfinite, world, device):
                    checkpoint_now()  # raises LossNotFinite, writes nothing
                if world.active:  # log the mean over processes, as one process would see it
                    losses = losses.clone()
                    torch.distributed.all_reduce(losses)
                    losses /= world.size
                values = losses.tolist()
                row = torch.tensor([[progress.step, epoch, *values]], dtype=torch.float64)
                progress.history = torch.cat([progress.history, row])
                reporter.step(progress.step, dict(zip(LOSS_NAMES, values, strict=True)))
            if epoch_done:
                steps_in_epoch = progress.step - epoch * spe
                means = (progress.epoch_sums / steps_in_epoch).tolist()
                reporter.epoch(
                    epoch, dict(zip(LOSS_NAMES, means, strict=True)),
                    time.perf_counter() - epoch_started,
                )  # fmt: skip
                export(epoch)
                progress.epoch_sums.zero_()
                checkpoint_now()
                epoch_started = time.perf_counter()
            elif checkpoint_every and progress.step % checkpoint_every == 0:
                checkpoint_now()
            if eval_log is not None and (progress.step % eval_every == 0 or progress.step == total):
                paused = time.perf_counter()
                g_ab, g_ba = export_generators(nets, data, settings)
                training_seconds = paused - run_started - eval_log.seconds_spent
                eval_log.record(progress.step, training_seconds, g_ab, g_ba)
                eval_log.seconds_spent += time.perf_counter() - paused
            stopping = stop.received is not None
            if world.active:  # every process stops at the same step
                stopping = any_rank(stopping, world, device)
            if stopping and progress.step < total:
                checkpoint_now()
                reporter.stop()
                name = signal.Signals(stop.received or signal.SIGTERM).name
                raise TrainingInterrupted(
                    f"{name} at step {progress.step}: checkpoint saved to {files.checkpoint}; "
                    f"resume with: mnistgan train --out {files.folder} --resume"
                )
    reporter.stop()
    # The last step always ends an epoch, whose checkpoint averaged the buffers: compare now.
    check_in_step(list(nets.named().values()), world, device)
    seconds = time.perf_counter() - run_started
    steps_run = progress.step - started_at_step
    last = progress.history[-1, 2:].tolist() if len(progress.history) else [math.nan] * 7
    return {
        "step": progress.step,
        "total_steps": total,
        "seconds": seconds,
        "pairs_per_second": steps_run * settings.batch_size / seconds if seconds > 0 else 0.0,
        "final_losses": dict(zip(LOSS_NAMES, last, strict=True)),
        "folder": str(files.folder),
        "processes": world.size,
    }
