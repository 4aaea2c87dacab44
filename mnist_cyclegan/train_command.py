"""`mnistgan train`: its options, read from the settings' fields, and the run once they are read.

The command's own options are where the settings come from (`--preset`, `--config`); every
other option is a field of `TrainSettings`, its `NetSettings` or `RunOptions`, declared there
with its help (settings/command_line.py). The command is registered by cli.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from mnist_cyclegan.console import (
    PlainReporter,
    RichReporter,
    console,
    fail,
    print_summary,
    warn,
)
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings.command_line import command_parameters, split_given
from mnist_cyclegan.settings.fields import RUN
from mnist_cyclegan.settings.presets import PRESETS
from mnist_cyclegan.settings.resolve import Given, decide, default_run_folder
from mnist_cyclegan.settings.run_options import RunOptions, resolve_device

if TYPE_CHECKING:
    from mnist_cyclegan.training.trainer import Trainer

Preset = Annotated[
    Literal[tuple(PRESETS)] | None,
    typer.Option(
        help="reference: the design, 100 epochs (hours on a CPU); quick: minutes.",
        rich_help_panel=RUN,
    ),
]
Config = Annotated[
    Path | None,
    typer.Option(
        help="Rerun a run's settings from its config.json (flags override them).",
        rich_help_panel=RUN,
    ),
]


def train(preset: Preset = None, config: Config = None, **given: object) -> None:
    """Train a CycleGAN between two domains; writes a run folder with weights and checkpoint.

    With no --preset this is the reference design's full schedule (hours on a CPU): for a good
    model in minutes, use --preset quick."""
    train_values, net_values, run_values = split_given(given)
    flags = Given(train=train_values, net=net_values)
    out, device, resume = (run_values.pop(name) for name in ("out", "device", "resume"))
    options = partial(RunOptions, **run_values)
    run_training(
        flags, options, preset=preset, config=config, resume=resume, out=out, device=device
    )


OWN_PARAMETERS = list(inspect.signature(train, eval_str=True).parameters.values())[:2]
train.__signature__ = command_parameters(OWN_PARAMETERS)  # what Typer reads its options from


def run_training(
    flags: Given,
    options: Callable[..., RunOptions],
    *,
    preset: str | None,
    config: Path | None,
    resume: bool,
    out: Path | None,
    device: str,
) -> None:
    """`train` once its options are read: the final settings (and the images they were
    decided on), the run, and one line per failure.
    `options` makes the run's options once its folder and device are known; the folder is
    named after the domains where `out` is None."""
    from mnist_cyclegan.training import distributed
    from mnist_cyclegan.training.trainer import LossNotFinite, Trainer, TrainingInterrupted

    try:
        world = distributed.world_from_env()
    except MnistganError as error:
        raise fail(str(error)) from None
    finished = False
    try:
        run_device = distributed.start(world, resolve_device(device))
        out = out or default_run_folder(flags)
        decided = decide(flags, preset=preset, config=config, resume=resume, out=out)
        settings = decided.settings
        for line in decided.told if world.is_main else ():
            console.print(f"quick preset on your data: {line}", soft_wrap=True)
        run_options = options(out=out, device=run_device, resume=resume)
        shown = RichReporter if console.is_terminal else PlainReporter
        reporter = shown(console, settings.batch_size)
        trainer = Trainer(decided, run_options, world=world, reporter=reporter)
        if world.is_main:
            console.print(how_often_seen(trainer), soft_wrap=True)
        if world.is_main and run_device.type == "cpu" and preset is None and config is None:
            say_how_long(settings, trainer.total_steps - trainer.progress.step)
        summary = trainer.train()
        finished = True
    except TrainingInterrupted as stopped:
        raise fail(str(stopped), code=130) from None
    except LossNotFinite as diverged:
        raise fail(str(diverged), code=3) from None
    except MnistganError as error:
        raise fail(str(error)) from None
    finally:
        distributed.stop(world, finished)
    if world.is_main:
        print_summary(summary)


def how_often_seen(trainer: Trainer) -> str:
    """One line: each side's training images and how many times the run shows each, so that
    a small set's share of the run is plain before it starts."""
    data, settings = trainer.data, trainer.settings
    seen_a, seen_b = data.times_seen(trainer.total_steps)
    line = (
        f"data: A ({settings.domain_a}) {len(data.train_a):,} training images, each seen "
        f"{seen_a:.1f} times; B ({settings.domain_b}) {len(data.train_b):,}, each seen "
        f"{seen_b:.1f} times"
    )
    if data.epoch_images is not None:
        line += "; an epoch is set by the larger side, the smaller drawn again"
    return line


def say_how_long(settings, steps: int) -> None:
    """Warn before a reference run on a CPU that will take hours (training/duration.py)."""
    from mnist_cyclegan.training.duration import reference_notice

    notice = reference_notice(settings, steps)
    if notice is not None:
        warn(notice)
