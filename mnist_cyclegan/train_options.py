"""The options of `mnistgan train` (and eval's data options), one annotated type each, so a
command reads as its list of options (Typer takes each parameter's help from its type)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def option(help_text: str, **kwargs):
    return typer.Option(help=help_text, **kwargs)


# `train`'s options, one alias each, so the command reads as its list of options.
Preset = Annotated[str | None, option("reference (default) or quick (fast on a CPU).")]
DomainA = Annotated[str | None, option("Domain A (default mnist).")]
DomainB = Annotated[str | None, option("Domain B (default colored-background).")]
Style = Annotated[str | None, option("Rendering style: threshold or blend.")]
Epochs = Annotated[int | None, option("Epochs (default 100).")]
Steps = Annotated[int | None, option("Cap on total optimisation steps (also on resume).")]
BatchSize = Annotated[int | None, option("Pairs per step (default 64).")]
Device = Annotated[str, option("auto, cpu or cuda.")]
Seed = Annotated[int | None, option("Seed for data split, init and order (default 0).")]
RunFolder = Annotated[Path | None, option("Run folder (default runs/A-to-B).")]
Resume = Annotated[bool, option("Continue the run in --out from its checkpoint.")]
DataA = Annotated[Path | None, option("make-data file for domain A.")]
DataB = Annotated[Path | None, option("make-data file for domain B.")]
Pairing = Annotated[str | None, option("disjoint (default) or shuffled.")]
TrainDigits = Annotated[int | None, option("Use only N training digits per domain.")]
Lr = Annotated[float | None, option("Adam learning rate (default 2e-4).")]
LambdaCycle = Annotated[float | None, option("Cycle loss weight (default 10).")]
LambdaIdentity = Annotated[
    float | None, option("Identity loss weight, |G(y) − y| (default 0; paper 5).")
]
LambdaShape = Annotated[
    float | None,
    option("Shape loss weight: the figure's outline kept, |ink(G(x)) − ink(x)| (default 0)."),
]
PoolSize = Annotated[int | None, option("History pool of fakes (default 0; paper 50).")]
LrDecayEpochs = Annotated[int | None, option("Linear decay to 0 over last N epochs.")]
Precision = Annotated[str | None, option("bf16 autocast (default) or fp32.")]
CycleNoise = Annotated[float | None, option("Noise std on fakes before the cycle (default 0).")]
AverageGenerators = Annotated[
    float | None, option("Export a moving average of the generators, this decay (default 0: off).")
]
Norm = Annotated[str | None, option("batch (reference) or instance.")]
Output = Annotated[str | None, option("sigmoid (reference) or tanh.")]
GenWidth = Annotated[int | None, option("Generator base width (default 32).")]
ResBlocks = Annotated[int | None, option("Residual blocks (default 6).")]
DiscWidth = Annotated[int | None, option("Discriminator base width (default 64).")]
FinalNorm = Annotated[bool | None, option("Normalise the generator's last conv (reference: yes).")]
LongSkip = Annotated[
    bool | None, option("Add stem features to the decoder output (reference: no).")
]
MedianOffset = Annotated[
    bool | None, option("Generator also reads |input − its median colour| (reference: no).")
]
AttentionMask = Annotated[
    bool | None,
    option("Output mixes generated and input pixels by a learned mask (reference: no)."),
]
Validation = Annotated[
    bool | None, option("Leave the validation digits out of training (reference: no; else yes).")
]
TwoTone = Annotated[
    bool | None,
    option("Draw the figure only, painted with the target's real colours (reference: no)."),
]
FlatFigures = Annotated[
    bool | None,
    option("Two-tone: no shade where the target's figures are two flat colours (reference: no)."),
]
ResidualRelu = Annotated[
    bool | None, option("ReLU after each residual block's sum (reference: yes; quick: no).")
]
CheckpointEvery = Annotated[int, option("Also checkpoint every N steps (0: epochs only).")]
LogEvery = Annotated[int, option("Read losses back every N steps.")]
ChannelsLast = Annotated[bool, option("NHWC memory layout (faster convolutions).")]
Kernels = Annotated[
    str, option("auto (the CPU speed kit on a CPU, PyTorch's layers elsewhere), plain, fast.")
]
SideBySide = Annotated[
    bool, option("On a CPU, run each update's two independent halves on two threads (faster).")
]
EvalEvery = Annotated[int, option("Evaluate on 1,000 test digits every N steps.")]
TensorBoard = Annotated[
    Path | None, option("Also log losses, learning rate and samples for TensorBoard here.")
]
Config = Annotated[
    Path | None, option("Rerun a run's settings from its config.json (flags override them).")
]

# eval: which data to score on
ScoreDataA = Annotated[
    Path | None,
    option("A make-data file to score domain A on (default: the data the model trained on)."),
]
ScoreDataB = Annotated[Path | None, option("The same for domain B.")]
GreySet = Annotated[
    Path | None,
    option("The grey set the data files were rendered from (default: the one they name)."),
]
