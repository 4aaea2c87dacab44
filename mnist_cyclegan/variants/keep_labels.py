"""Semantic consistency (`--keep-labels`, not in the reference; CyCADA, Hoffman et al., ICML
2018): a translation must keep what an image shows, as a classifier trained on the labelled
side reads it. The cycle loss asks only that B→A undo A→B, and a pair of generators that turns
a 4 into a 9 and back meets it (Chu et al. 2017); with labels the run can ask for the class
outright.

Before the first step, each side with labels gets a reader: a small classifier (the eval
reader's design, evaluation/classifier.py, with a seed of its own, trained on the run's own
training images only, never on validation or test ones), then frozen. The generator term, in
each half-cycle x → G(x), is the cross-entropy of a reader's reading of G(x) against x's label,
or, where x's side has no labels, against the reader's own reading of x (CyCADA's form). G(x) is
read by its own side's reader where that side has labels, else by the other's, in G(x)'s
channels made the reader's (grey to RGB by repeating, RGB to grey by the mean). Weight 1 as
CyCADA's; CyCADA holds the term at 0 while its reader is still poor, and a reader trained
before the run never is. Where neither side has labels the run refuses, in one line.

Measured (BENCHMARKS.md, "With labels"; test images, seed 0): typed → mnist 49.8% → 99.6% of
digits kept, mnist → typed 56.1% → 96.2%, shapes-photo → shapes-flat 61.4% → 97.4%, mnist-m →
colored-background 92.7% → 97.0%, mnist-m → mnist 95.7% → 97.7%, adaptation into mnist-m
95.3% → 96.6%; a step costs 1.2–1.3× (mnist ↔ mnist-m: 715 s of training, over the quick
preset's 10 minutes). tests/test_keep_labels.py checks the term against a hand computation and
the CLI with labels and without.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.fast.halves import Term
from mnist_cyclegan.figures import reader_view
from mnist_cyclegan.settings.fields import ADDITIONS, Flag, boolean, number, one_of, setting
from mnist_cyclegan.variants.variant import HalfContext, Variant

if TYPE_CHECKING:
    from mnist_cyclegan.evaluation.classifier import DigitClassifier
    from mnist_cyclegan.settings.schema import TrainSettings

WEIGHT = 1.0  # CyCADA's, both ways: --labels-weight's default
LABEL_READERS = ("real", "translated")  # CyCADA's reader (here) or PixelDA's (task_network.py)
READER_SEED = 404  # added to the run's seed: a reader of its own, not eval's (seed 0)
NO_LABELS = (
    "--keep-labels: neither side has labels (class subfolders, a labels file, or y_train in an "
    ".npz); label one side, or train without it"
)


@dataclass(frozen=True)
class KeepLabelsSettings:
    keep_labels: bool = setting(
        False,
        boolean(),
        Flag("Keep each image's class, as a classifier of the labelled side reads it.", ADDITIONS),
    )
    label_reader: str = setting(
        "real",
        one_of(LABEL_READERS, "--label-reader"),
        Flag("What --keep-labels' classifier learns from: real (the labelled images, before the "
             "run; CyCADA) or translated (their translations, during it; PixelDA).", ADDITIONS),
    )  # fmt: skip
    labels_weight: float = setting(
        WEIGHT,
        number(0, 1e6, "--labels-weight must be a number from 0 to 1000000", above_low=True),
        Flag("The weight of --keep-labels' term (CyCADA's: 1).", ADDITIONS),
    )


@dataclass(frozen=True)
class Readers:
    """Each side's frozen reader (None for a side without labels) and the model's pixel range."""

    a: DigitClassifier | None
    b: DigitClassifier | None
    output: str  # "sigmoid": images in [0, 1]; "tanh": in [-1, 1]

    def half(self, direction: str, labels_x: torch.Tensor | None) -> LabelHalf:
        """What the half-cycle `direction` ("a2b" or "b2a") reads its term with."""
        own, other = (self.a, self.b) if direction == "a2b" else (self.b, self.a)
        return LabelHalf(
            reads_output=other or own, reads_input=own or other, labels_x=labels_x,
            output=self.output,
        )  # fmt: skip


@dataclass(frozen=True)
class LabelHalf:
    """One half-cycle's readers: of G(x) (its side's, else the other's) and of x where x has
    no labels (x's side's, else the other's), and x's labels where it has them."""

    reads_output: DigitClassifier
    reads_input: DigitClassifier
    labels_x: torch.Tensor | None
    output: str


def reader_input(images: torch.Tensor, output: str, channels: int) -> torch.Tensor:
    """Model-space images → what a reader of `channels`-channel images takes, differentiably:
    pixels in [0, 1] at 28×28, then minus their per-channel median (images_to_input's form)."""
    x = images.float()
    x = (x + 1) / 2 if output == "tanh" else x
    if x.shape[1] != channels:
        x = x.expand(-1, channels, -1, -1) if x.shape[1] == 1 else x.mean(dim=1, keepdim=True)
    return reader_view(x)


def read(reader: DigitClassifier, images: torch.Tensor, output: str) -> torch.Tensor:
    """The reader's logits for model-space images."""
    return reader(reader_input(images, output, reader.channels))


def label_loss(half: LabelHalf, real_x: torch.Tensor, fake_y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the reading of G(x) against x's label, or against the reading of x."""
    target = half.labels_x
    if target is None:
        with torch.no_grad():
            target = read(half.reads_input, real_x, half.output).argmax(dim=1)
    return F.cross_entropy(read(half.reads_output, fake_y, half.output), target)


def label_term(settings: TrainSettings, context: HalfContext) -> Term:
    half = context.labels
    if half is None:
        raise MnistganError("--keep-labels: the run built no readers")

    def value(g, f, real_x, fake_y) -> torch.Tensor:
        return label_loss(half, real_x, fake_y)

    return Term("labels", settings.labels_weight, value)


def without_keep_labels(settings: TrainSettings) -> str | None:
    """A label flag given without --keep-labels: one line, rather than a flag that does
    nothing."""
    if settings.keep_labels:
        return None
    if settings.label_reader != "real":
        return f"--label-reader {settings.label_reader} reads labels: add --keep-labels"
    if settings.labels_weight != WEIGHT:
        return "--labels-weight weighs --keep-labels' term: add --keep-labels"
    return None


VARIANT = Variant(
    name="semantic consistency",
    train_settings=KeepLabelsSettings,
    train_problem=without_keep_labels,
    is_on=lambda settings: settings.keep_labels and settings.label_reader == "real",
    changes_step=True,
    logged=("labels",),
    term=label_term,
)
