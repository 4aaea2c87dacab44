"""`mnistgan train`: its options, one a parameter, and the run once they are read.

Each flag goes by name into the settings (`run_settings.given_flags`: a name that is no field
of them fails), the run's options into `RunOptions`; the command is registered by cli.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from mnist_cyclegan.config import RunOptions, resolve_device
from mnist_cyclegan.console import (
    PlainReporter,
    RichReporter,
    console,
    fail,
    print_summary,
    warn,
)
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.run_settings import Given, default_run_folder, given_flags, run_settings
from mnist_cyclegan.train_options import (
    AverageGenerators,
    BatchSize,
    ChannelsLast,
    CheckpointEvery,
    Config,
    CycleNoise,
    DataA,
    DataB,
    Device,
    DiscWidth,
    DomainA,
    DomainB,
    Epochs,
    EvalEvery,
    FinalNorm,
    FlatFigures,
    GenWidth,
    Head,
    Kernels,
    LambdaCycle,
    LambdaIdentity,
    LambdaShape,
    LogEvery,
    LongSkip,
    Lr,
    LrDecayEpochs,
    MedianOffset,
    Norm,
    Pairing,
    PoolSize,
    Precision,
    Preset,
    ResBlocks,
    ResidualRelu,
    Resume,
    RunFolder,
    Seed,
    SideBySide,
    Size,
    Steps,
    Style,
    TensorBoard,
    TrainDigits,
    Validation,
)


def train(
    preset: Preset = None,
    domain_a: DomainA = None,
    domain_b: DomainB = None,
    out: RunFolder = None,
    device: Device = "auto",
    steps: Steps = None,
    epochs: Epochs = None,
    resume: Resume = False,
    seed: Seed = None,
    style: Style = None,
    data_a: DataA = None,
    data_b: DataB = None,
    size: Size = None,
    config: Config = None,
    batch_size: BatchSize = None,
    lr: Lr = None,
    lr_decay_epochs: LrDecayEpochs = None,
    pairing: Pairing = None,
    train_digits: TrainDigits = None,
    validation: Validation = None,
    precision: Precision = None,
    gen_width: GenWidth = None,
    res_blocks: ResBlocks = None,
    disc_width: DiscWidth = None,
    norm: Norm = None,
    final_norm: FinalNorm = None,
    residual_relu: ResidualRelu = None,
    lambda_cycle: LambdaCycle = None,
    pool_size: PoolSize = None,
    head: Head = None,
    long_skip: LongSkip = None,
    median_offset: MedianOffset = None,
    flat_figures: FlatFigures = None,
    lambda_identity: LambdaIdentity = None,
    lambda_shape: LambdaShape = None,
    cycle_noise: CycleNoise = None,
    average_generators: AverageGenerators = None,
    kernels: Kernels = "auto",
    side_by_side: SideBySide = True,
    channels_last: ChannelsLast = True,
    checkpoint_every: CheckpointEvery = 0,
    log_every: LogEvery = 10,
    eval_every: EvalEvery = 0,
    tensorboard: TensorBoard = None,
) -> None:
    """Train a CycleGAN between two domains; writes a run folder with weights and checkpoint.

    With no --preset this is the reference design's full schedule (hours on a CPU): for a good
    model in minutes, use --preset quick."""
    flags = given_flags(
        domain_a=domain_a, domain_b=domain_b, style=style, data_a=data_a, data_b=data_b, size=size,
        pairing=pairing, train_digits=train_digits, epochs=epochs, steps=steps,
        batch_size=batch_size, lr=lr, lambda_cycle=lambda_cycle, lambda_identity=lambda_identity,
        lambda_shape=lambda_shape, pool_size=pool_size, lr_decay_epochs=lr_decay_epochs,
        cycle_noise=cycle_noise, average_generators=average_generators, seed=seed,
        precision=precision, validation=validation, gen_width=gen_width, res_blocks=res_blocks,
        disc_width=disc_width, norm=norm, final_norm=final_norm, residual_relu=residual_relu,
        head=head, long_skip=long_skip, median_offset=median_offset, flat_figures=flat_figures,
    )  # fmt: skip
    options = partial(
        RunOptions, checkpoint_every=checkpoint_every,
        log_every=max(1, log_every), channels_last=channels_last, kernels=kernels,
        side_by_side=side_by_side, eval_every=max(0, eval_every), tensorboard=tensorboard,
    )  # fmt: skip
    run_training(
        flags, options, preset=preset, config=config, resume=resume, out=out, device=device
    )


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
    """`train` once its options are read: settings, the run, and one line per failure.
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
        settings = run_settings(flags, preset=preset, config=config, resume=resume, out=out)
        run_options = options(out=out, device=run_device, resume=resume)
        shown = RichReporter if console.is_terminal else PlainReporter
        reporter = shown(console, settings.batch_size)
        adapt = recipe_for(preset, flags, show=world.is_main) if config is None else None
        trainer = Trainer(settings, run_options, world=world, reporter=reporter, adapt=adapt)
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


def say_how_long(settings, steps: int) -> None:
    """Warn before a reference run on a CPU that will take hours (training/duration.py)."""
    from mnist_cyclegan.training.duration import reference_notice

    notice = reference_notice(settings, steps)
    if notice is not None:
        warn(notice)


def recipe_for(preset: str | None, flags: Given, *, show: bool):
    """The quick preset's check of a user's own data (recipe.py), which prints what it kept
    and dropped; None for other presets, whose settings are what they say."""
    if preset != "quick":
        return None
    from mnist_cyclegan import recipe

    given = set(flags.train) | set(flags.net)

    def adapt(settings, data):
        sides = (data.arrays_a, data.arrays_b)
        if not recipe.on_own_data(sides):
            return settings
        adapted, lines = recipe.adapted(settings, sides, given)
        for line in lines if show else ():
            console.print(f"quick preset on your data: {line}", soft_wrap=True)
        return adapted

    return adapt
