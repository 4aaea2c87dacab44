"""`--average-generators`: a run leaves the running average of its generators' weights.

Not in the reference. Late in a quick run, while its learning rate decays, the live generators swing
in and out of a state that hides, for the way back, what the target domain erases: dots in the
background of mnist -> colored-background that come and go within a hundred steps (background std
0.2 at step 1100, 4.1 at the last step 1287, validation digits, seed 1). An exponential moving
average of the weights (Yazici et al. 2019, "The unusual effectiveness of averaging in GAN
training") sits between those swings: 0.5 at the same step, and into mnist a smoother, closer guess
at the erased greys (docs/measurements.md, "Every pair of domains (fifth round)"). Training itself
is untouched: the average only follows the live weights, and is what the run exports, evaluates and
watches.

The decay warms up as min(decay, (1 + t) / (10 + t)) after t steps, so the first steps' random
weights fade out fast; it depends on the step alone, so a resumed run averages as an unbroken
one does. Batch-norm statistics are copied from the live generators: export re-estimates them
for the averaged weights anyway (bn_stats.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch
from torch import nn

from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.settings.fields import ADDITIONS, Flag, number, setting
from mnist_cyclegan.variants.variant import Variant

AVERAGED = ("G_ab", "G_ba")  # the networks a run averages, by their checkpoint names


@dataclass(frozen=True)
class WeightAverageSettings:
    average_generators: float = setting(
        0.0,
        number(0, 1, "--average-generators must be in [0, 1) (0: off)", below_high=True),
        Flag("Export a moving average of the generators with this decay (0: off).", ADDITIONS),
    )


def decay_at(step: int, decay: float) -> float:
    """The weight the average keeps of itself at the update after `step` steps (1-based)."""
    return min(decay, (1 + step) / (10 + step))


class GeneratorAverage:
    """Averaged copies of both generators, updated after every optimisation step."""

    def __init__(self, nets: Networks, decay: float) -> None:
        self.decay = decay
        self.modules: dict[str, nn.Module] = {}
        for name, live in nets.named().items():
            if name in AVERAGED:
                average = copy.deepcopy(live)
                average.requires_grad_(False)
                self.modules[name] = average

    @torch.no_grad()
    def update(self, nets: Networks, step: int) -> None:
        """Move each average towards its live generator after the run's `step`-th step."""
        keep = decay_at(step, self.decay)
        live_modules = nets.named()
        for name, average in self.modules.items():
            live = live_modules[name]
            averaged = list(average.parameters())
            current = [p.detach() for p in live.parameters()]
            # One fused update per generator, as torch.optim.swa_utils' EMA averaging does.
            torch._foreach_lerp_(averaged, current, 1.0 - keep)
            for mine, theirs in zip(average.buffers(), live.buffers(), strict=True):
                mine.copy_(theirs)

    def networks(self, nets: Networks) -> Networks:
        """The run's networks with the averaged generators in the live ones' place."""
        return replace(nets, g_ab=self.modules["G_ab"], g_ba=self.modules["G_ba"])


def average_for(nets: Networks, decay: float) -> GeneratorAverage | None:
    """The average a run keeps at `decay` (`--average-generators`); none at 0, as the reference."""
    return GeneratorAverage(nets, decay) if decay > 0 else None


VARIANT = Variant(
    name="weight average",
    train_settings=WeightAverageSettings,
    is_on=lambda settings: bool(settings.average_generators),
)
