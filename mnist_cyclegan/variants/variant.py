"""What an addition declares about itself, so that one registry line plugs it in.

Each file of `variants/` that adds to the reference ends with a `VARIANT`: its name, the
settings it adds (a small frozen dataclass of `settings.fields.setting` fields, each with its
check and `train` flag, which the schema mixes into `TrainSettings` or `NetSettings`), whether
it is on for a run's settings, the loss-log columns it adds, and its hooks: a generator head,
or a further generator term. `registry.py` lists them; the schema, `train`'s options, the step's
plans (step.py), the loss log's columns and the docs read them from there. docs/design.md,
"Adding a variant", shows the smallest one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from mnist_cyclegan.fast.halves import Term
    from mnist_cyclegan.settings.schema import NetSettings, TrainSettings
    from mnist_cyclegan.variants.keep_labels import LabelHalf
    from mnist_cyclegan.variants.patch_nce import HalfFeatures
    from mnist_cyclegan.variants.task_network import TaskHalf


@dataclass(frozen=True)
class HalfContext:
    """What a half-cycle x → G(x) → F(G(x)) hands its terms beside G, F, x and G(x): the
    palettes a two-tone head paints with (None for other heads), and the readers and x's
    labels semantic consistency reads, the features patch contrast records, and the task
    network's half (each None where it is off)."""

    palette_target: torch.Tensor | None  # a real image's of the target domain, for G(x)
    palette_own: torch.Tensor | None  # x's own, for the way back
    labels: LabelHalf | None = None
    features: HalfFeatures | None = None
    task: TaskHalf | None = None


@dataclass(frozen=True)
class Variant:
    """One addition to the reference, as its file declares it."""

    name: str  # as docs and `mnistgan train -h` call it
    is_on: Callable[[TrainSettings], bool]  # whether a run's settings turn it on
    # The settings it adds: a frozen dataclass of `setting` fields, mixed into TrainSettings
    # (train_settings) or into the networks' NetSettings (net_settings). Off is their default.
    train_settings: type | None = None
    net_settings: type | None = None
    # A check across fields, one line where the settings are wrong (None where they are fine).
    net_problem: Callable[[NetSettings], str | None] | None = None
    # The same across TrainSettings' fields (a flag that needs another, say).
    train_problem: Callable[[TrainSettings], str | None] | None = None
    # A generator head: its `--head` name and the class that builds it (factory.py).
    head: tuple[str, type[nn.Module]] | None = None
    changes_step: bool = False  # a term, noise or palettes in the step (else the networks)
    logged: tuple[str, ...] = ()  # columns it adds to the loss log (0 where it is off)
    # A further generator term the half-cycle sums (weight · value), in registry order.
    term: Callable[[TrainSettings, HalfContext], Term] | None = None
    # What a run does once its networks are built, with each generator's target images (N×C×H×W
    # uint8) and the run's seed: a two-tone head fills its bank of palettes.
    prepare: Callable[[dict[str, nn.Module], dict[str, torch.Tensor], int], None] | None = None

    @property
    def settings(self) -> tuple[str, ...]:
        """The settings it reads, by name: TrainSettings' ("cycle_noise"), NetSettings' as
        "net.x" (a head reads "net.head")."""
        own = [f.name for f in fields(self.train_settings)] if self.train_settings else []
        net = [f.name for f in fields(self.net_settings)] if self.net_settings else []
        heads = ["head"] if self.head else []
        return (*own, *(f"net.{name}" for name in heads + net))
