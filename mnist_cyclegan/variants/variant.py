"""What an addition declares about itself, so that one registry line plugs it in.

Each file of `variants/` that adds to the reference ends with a `VARIANT`: its name, the
settings fields it reads, whether it is on for a run's settings, the loss-log columns it adds,
and, for a further generator term, the term itself. `registry.py` lists them; the step's plans
(step.py), the loss log's columns (training/run_folder.py) and the docs read them from there.
docs/design.md, "Adding a variant", shows the smallest one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mnist_cyclegan.config import TrainSettings
from mnist_cyclegan.fast.halves import Term


@dataclass(frozen=True)
class HalfContext:
    """What a half-cycle x → G(x) → F(G(x)) hands its terms beside G, F, x and G(x): the
    palettes a two-tone head paints with (None for other heads)."""

    palette_target: torch.Tensor | None  # a real image's of the target domain, for G(x)
    palette_own: torch.Tensor | None  # x's own, for the way back


@dataclass(frozen=True)
class Variant:
    """One addition to the reference, as its file declares it."""

    name: str  # as docs and `mnistgan train -h` call it
    settings: tuple[str, ...]  # the fields it reads: TrainSettings' ("cycle_noise"), "net.x"
    is_on: Callable[[TrainSettings], bool]  # whether a run's settings turn it on
    changes_step: bool = False  # a term, noise or palettes in the step (else the networks)
    logged: tuple[str, ...] = ()  # columns it adds to the loss log (0 where it is off)
    # A further generator term the half-cycle sums (weight · value), in registry order.
    term: Callable[[TrainSettings, HalfContext], Term] | None = None
