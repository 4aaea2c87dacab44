"""The options of `mnistgan train` (and eval's data options), one annotated type each, so a
command reads as its list of options (Typer takes each parameter's help from its type).

Defaults in the help come from the settings dataclasses themselves (`TrainSettings()` is the
reference, `TrainSettings.preset("quick")` the quick preset), so they cannot drift from the
code; choices are listed as their values. Options sit in panels: what a first run needs, then
the schedule, the reference design's knobs, the additions that are not in it, and speed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from mnist_cyclegan.config import HEADS, KERNELS, NORMS, PAIRINGS, PRECISIONS, TrainSettings
from mnist_cyclegan.domains import DOMAINS, STYLES
from mnist_cyclegan.presets import PRESETS

RUN = "Run and data"
SCHEDULE = "Schedule"
REFERENCE_KNOBS = "The reference design's knobs"
ADDITIONS = "Additions (not in the reference design)"
SPEED = "Speed and logging"

REFERENCE = TrainSettings()
QUICK = TrainSettings.preset("quick")


def option(help_text: str, **kwargs):
    return typer.Option(help=help_text, **kwargs)


def choice(help_text: str, panel: str, **kwargs):
    """An option of a `Literal` type: the help lists its values, others are a usage error."""
    return typer.Option(help=help_text, rich_help_panel=panel, **kwargs)


def switch(help_text: str, panel: str):
    """An on/off option, shown as --name/--no-name."""
    return typer.Option(help=help_text, rich_help_panel=panel, metavar="")


def presets_say(name: str, net: bool = False) -> str:
    """What the reference and the quick preset set a field to, for the help."""
    ref, quick = (REFERENCE.net, QUICK.net) if net else (REFERENCE, QUICK)
    reference, fast = getattr(ref, name), getattr(quick, name)
    shown = {True: "on", False: "off", None: "none"}
    reference = shown.get(reference, reference) if isinstance(reference, bool | None) else reference
    fast = shown.get(fast, fast) if isinstance(fast, bool | None) else fast
    return f"(reference: {reference}; quick: {fast})"


def settings_option(help_text: str, name: str, panel: str, net: bool = False):
    """An option for a settings field, its help ending in what the presets set it to."""
    switch = isinstance(getattr(REFERENCE.net if net else REFERENCE, name), bool)
    return option(
        f"{help_text} {presets_say(name, net)}",
        rich_help_panel=panel,
        **({"metavar": ""} if switch else {}),
    )


# -- run and data --------------------------------------------------------------------------
Preset = Annotated[
    Literal[tuple(PRESETS)] | None,
    choice("reference: the design, 100 epochs (hours on a CPU); quick: minutes.", RUN),
]
DomainA = Annotated[
    Literal[DOMAINS] | None,
    choice(f"Domain A. (default: {REFERENCE.domain_a})", RUN, metavar="DOMAIN"),
]
DomainB = Annotated[
    Literal[DOMAINS] | None,
    choice(f"Domain B. (default: {REFERENCE.domain_b})", RUN, metavar="DOMAIN"),
]
RunFolder = Annotated[
    Path | None, option("Run folder. (default: runs/A-to-B)", rich_help_panel=RUN)
]
Device = Annotated[str, option("auto, cpu, cuda or cuda:N.", rich_help_panel=RUN, metavar="DEVICE")]
Steps = Annotated[
    int | None,
    option("Stop after N optimisation steps in all (also on resume).", rich_help_panel=RUN),
]
Epochs = Annotated[int | None, settings_option("Epochs.", "epochs", RUN)]
Resume = Annotated[bool, switch("Continue the run in --out from its checkpoint.", RUN)]
Seed = Annotated[
    int | None, settings_option("Seed of the data split, the weights and the order.", "seed", RUN)
]
Style = Annotated[
    Literal[STYLES] | None, choice(f"How digits are rendered. (default: {REFERENCE.style})", RUN)
]
DataA = Annotated[
    Path | None,
    option(
        "Domain A's images: a folder of images (labels from class subfolders or labels.csv; "
        "trainA/ testA/ as CycleGAN lays them out), a Keras-style .npz (x_train, optional "
        "y_train, x_test, y_test), a folder of IDX files, a make-data file, or one of our "
        "domain names.",
        rich_help_panel=RUN,
        metavar="PATH|DOMAIN",
    ),
]
DataB = Annotated[
    Path | None,
    option("Domain B's images, as --data-a.", rich_help_panel=RUN, metavar="PATH|DOMAIN"),
]
Size = Annotated[
    int | None,
    option(
        "Crop and resize every image to this side, 16 to 128 pixels, a multiple of 4. "
        "(default: the data's own, where both sides share one)",
        rich_help_panel=RUN,
    ),
]
Config = Annotated[
    Path | None,
    option(
        "Rerun a run's settings from its config.json (flags override them).", rich_help_panel=RUN
    ),
]

# -- schedule ------------------------------------------------------------------------------
BatchSize = Annotated[int | None, settings_option("Pairs per step.", "batch_size", SCHEDULE)]
Lr = Annotated[float | None, settings_option("Adam learning rate.", "lr", SCHEDULE)]
LrDecayEpochs = Annotated[
    int | None,
    settings_option("Linear decay to 0 over the last N epochs.", "lr_decay_epochs", SCHEDULE),
]
Pairing = Annotated[
    Literal[PAIRINGS] | None,
    choice(
        "disjoint: A and B from disjoint halves of the digits; shuffled: all digits in both. "
        + presets_say("pairing"),
        SCHEDULE,
    ),
]
TrainDigits = Annotated[
    int | None, option("Use only N training digits per domain.", rich_help_panel=SCHEDULE)
]
Validation = Annotated[
    bool | None,
    settings_option("Leave the validation digits out of training.", "validation", SCHEDULE),
]
Precision = Annotated[
    Literal[PRECISIONS] | None, choice(f"Arithmetic. (default: {REFERENCE.precision})", SCHEDULE)
]

# -- the reference design's knobs ----------------------------------------------------------
GenWidth = Annotated[
    int | None, settings_option("Generator base width.", "gen_width", REFERENCE_KNOBS, net=True)
]
ResBlocks = Annotated[
    int | None, settings_option("Residual blocks.", "res_blocks", REFERENCE_KNOBS, net=True)
]
DiscWidth = Annotated[
    int | None,
    settings_option("Discriminator base width.", "disc_width", REFERENCE_KNOBS, net=True),
]
Norm = Annotated[
    Literal[NORMS] | None,
    choice(f"Normalisation. (default: {REFERENCE.net.norm})", REFERENCE_KNOBS),
]
FinalNorm = Annotated[
    bool | None,
    settings_option(
        "Normalise the generator's last conv.", "final_norm", REFERENCE_KNOBS, net=True
    ),
]
ResidualRelu = Annotated[
    bool | None,
    settings_option("ReLU after each residual sum.", "residual_relu", REFERENCE_KNOBS, net=True),
]
LambdaCycle = Annotated[
    float | None, settings_option("Cycle loss weight.", "lambda_cycle", REFERENCE_KNOBS)
]
PoolSize = Annotated[
    int | None,
    settings_option("History pool of fakes (the paper: 50).", "pool_size", REFERENCE_KNOBS),
]

# -- additions, not in the reference -------------------------------------------------------
Head = Annotated[
    Literal[HEADS] | None,
    choice(
        "The generator's output: sigmoid or tanh (the design's), attention (copies input "
        "pixels by a mask), two-tone (draws the figure, painted in real target colours). "
        + presets_say("head", net=True),
        ADDITIONS,
    ),
]
LongSkip = Annotated[
    bool | None,
    settings_option("Add the stem's features to the decoder's.", "long_skip", ADDITIONS, net=True),
]
MedianOffset = Annotated[
    bool | None,
    settings_option(
        "The generator also reads |input − its median colour|.",
        "median_offset",
        ADDITIONS,
        net=True,
    ),
]
FlatFigures = Annotated[
    bool | None,
    settings_option(
        "Two-tone: no shade where the target's figures are flat.",
        "flat_figures",
        ADDITIONS,
        net=True,
    ),
]
LambdaIdentity = Annotated[
    float | None, settings_option("Identity term weight, |F(x) − x|.", "lambda_identity", ADDITIONS)
]
LambdaShape = Annotated[
    float | None,
    settings_option("Shape term weight, the figure kept in place.", "lambda_shape", ADDITIONS),
]
CycleNoise = Annotated[
    float | None,
    settings_option("Noise std on fakes before the way back.", "cycle_noise", ADDITIONS),
]
AverageGenerators = Annotated[
    float | None,
    settings_option(
        "Export a moving average of the generators with this decay (0: off).",
        "average_generators",
        ADDITIONS,
    ),
]

# -- speed and logging ---------------------------------------------------------------------
Kernels = Annotated[
    Literal[KERNELS],
    choice("auto: the CPU speed kit on a CPU, PyTorch's layers elsewhere.", SPEED),
]
SideBySide = Annotated[
    bool,
    switch("With the speed kit, each update's two halves on two threads.", SPEED),
]
ChannelsLast = Annotated[bool, switch("NHWC memory layout (faster convolutions).", SPEED)]
CheckpointEvery = Annotated[
    int, option("Also checkpoint every N steps (0: at epoch ends only).", rich_help_panel=SPEED)
]
LogEvery = Annotated[int, option("Read the losses back every N steps.", rich_help_panel=SPEED)]
EvalEvery = Annotated[
    int,
    option(
        "Score 1,000 held-out digits every N steps (validation digits where the run leaves "
        "them out; 0: never).",
        rich_help_panel=SPEED,
    ),
]
TensorBoard = Annotated[
    Path | None,
    option(
        "Also log losses, learning rate and samples for TensorBoard here.", rich_help_panel=SPEED
    ),
]

# eval: which data to score on
ScoreDataA = Annotated[
    Path | None,
    option(
        "Images to score domain A on, as train's --data-a takes them (default: the data the "
        "model trained on)."
    ),
]
ScoreDataB = Annotated[Path | None, option("The same for domain B.")]
GreySet = Annotated[
    Path | None,
    option("The grey set the data files were rendered from (default: the one they name)."),
]
