"""Failure made visible while it happens: `train` warns when a run is not translating.

Three failures have been seen (docs/measurements.md, "Every pair of domains"). The
discriminators win outright (their loss near 0, the generators' GAN loss near 1) and stay
winning: the generators get no useful push and keep returning their input. Or the outputs stay
in the source domain: a generator that copies its input can satisfy the cycle and identity
terms while the adversarial term fails to pull it out. Or the outputs' backgrounds fill with a
dot pattern: a generator hiding, for the cycle, what its target domain erases (the grey shading
a thresholded colored-digit lacks). All are cheap to see: the first in the losses the loop
already reads back, the others on a fixed batch of held-out inputs' translations, with the
domain check (evaluation/domain_check.py) and the spread of each output's pixels where its
input shows background (real backgrounds are flat).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from mnist_cyclegan.bn_stats import use_batch_statistics
from mnist_cyclegan.cyclegan.pixels import to_model, to_pixels
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.evaluation.domain_check import DomainCheck, domain_of, load_domain_check
from mnist_cyclegan.evaluation.metrics import MOTTLED_ABOVE, background_spread, far_background
from mnist_cyclegan.figures import figure_map
from mnist_cyclegan.images import channels_first

D_WINS_LOSS = 0.02  # a least-squares discriminator this sure of every real and fake image
G_LOSES_LOSS = 0.8  # ... while its generator's fakes score near 0 (GAN loss near 1)
IN_TARGET_BELOW = 0.5  # fewer outputs than this in the target domain: not translating
SAMPLES = 64  # held-out inputs per direction the domain check reads
MIN_STRETCH = 60  # steps: the shortest stretch of failure worth a warning
CHECKS_IN_A_ROW = 3  # checks that must all find the outputs outside the target (or mottled)
FIGURE_TOUCHES = 0.05  # figure_map value from which a pixel belongs to the input's figure


@dataclass
class Direction:
    """One direction's names and what the watch has seen of it."""

    source: str
    target: str
    gan_loss: str  # the generator's GAN loss in LOSS_NAMES
    disc_loss: str  # the loss of the discriminator that judges its fakes
    winning_since: int | None = None
    warned: set[str] = field(default_factory=set)


class FailureWatch:
    """Reads the logged losses and, every `check_every` steps after a warm-up, the domain of
    the generators' outputs on held-out inputs; returns each warning once per direction."""

    def __init__(
        self,
        domain_a: str,
        domain_b: str,
        total_steps: int,
        checker: DomainCheck | None,
        log_every: int = 1,
    ) -> None:
        self.checker = checker
        self.total_steps = total_steps
        # Checks fall on logged steps: a multiple of log_every near a tenth of the run (≤ 100).
        self.check_every = log_every * max(1, round(min(100, total_steps // 10) / log_every))
        # Outputs are judged after a warm-up: 300 steps, a tenth of a long run (the reference's
        # learning rate moves slowly), at most a quarter of a short one.
        warm_up = min(total_steps // 4, max(300, total_steps // 10))
        self.warm_up = max(self.check_every, MIN_STRETCH, warm_up)
        # Early on a discriminator often leads for a while and loses it again: a warning needs
        # a stretch of MIN_STRETCH steps at least, longer in longer runs.
        self.sustained = max(2 * self.check_every, MIN_STRETCH, min(200, total_steps // 7))
        self.directions = {
            "a2b": Direction(domain_a, domain_b, "g_gan_ab", "d_b"),
            "b2a": Direction(domain_b, domain_a, "g_gan_ba", "d_a"),
        }
        self.misses: dict[str, int] = {"a2b": 0, "b2a": 0}
        self.mottled: dict[str, int] = {"a2b": 0, "b2a": 0}

    def losses(self, step: int, named: dict[str, float]) -> list[str]:
        """Warnings from one logged row of losses: a discriminator winning outright since
        `sustained` steps or more."""
        warnings = []
        for direction in self.directions.values():
            winning = named[direction.disc_loss] < D_WINS_LOSS and (
                named[direction.gan_loss] > G_LOSES_LOSS
            )
            if not winning:
                direction.winning_since = None
                continue
            if direction.winning_since is None:
                direction.winning_since = step
            if step - direction.winning_since >= self.sustained:
                warnings += self._once(direction, "d_wins", self._d_wins_text(direction, step))
        return warnings

    def check_due(self, step: int) -> bool:
        """Every `check_every` steps after the warm-up, and at the last step: what it finds
        there is the model the run leaves."""
        on_time = step % self.check_every == 0 or step == self.total_steps
        return step >= self.warm_up and on_time

    def outputs(
        self,
        step: int,
        outputs: dict[str, np.ndarray],
        device: torch.device,
        backgrounds: dict[str, np.ndarray] | None = None,
    ) -> list[str]:
        """Warnings from each direction's outputs (uint8 images) at CHECKS_IN_A_ROW checks in a
        row: most of them outside the target domain (the domain check), or, given where each
        input shows background (N×H×W bool), backgrounds mottled past MOTTLED_ABOVE."""
        warnings = []
        for name, direction in self.directions.items():
            if backgrounds is not None:
                warnings += self._mottled(
                    step, name, background_spread(outputs[name], backgrounds[name])
                )
            found = domain_of(self.checker, outputs[name], device)
            in_target = float((found == DOMAINS.index(direction.target)).mean())
            in_source = float((found == DOMAINS.index(direction.source)).mean())
            self.misses[name] = self.misses[name] + 1 if in_target < IN_TARGET_BELOW else 0
            if self.misses[name] >= CHECKS_IN_A_ROW:
                text = (
                    f"step {step}: {direction.source} -> {direction.target} is not translating: "
                    f"{in_target:.0%} of its outputs on held-out digits look like "
                    f"{direction.target}, {in_source:.0%} still like {direction.source}"
                )
                warnings += self._once(direction, "not_translating", text)
        return warnings

    def _mottled(self, step: int, name: str, spread: float) -> list[str]:
        """Backgrounds mottled at CHECKS_IN_A_ROW checks, or at the last step's alone: that is
        the model the run leaves, not a passing state."""
        self.mottled[name] = self.mottled[name] + 1 if spread > MOTTLED_ABOVE else 0
        needed = 1 if step == self.total_steps else CHECKS_IN_A_ROW
        if self.mottled[name] < needed:
            return []
        direction = self.directions[name]
        text = (
            f"step {step}: {direction.source} -> {direction.target}'s backgrounds are not flat "
            f"(std {spread:.1f} grey levels on held-out digits; real ones: 0): the generator "
            "may be hiding what its target domain erases for the way back; see README "
            "'When a pair does not translate'"
        )
        return self._once(direction, "mottled", text)

    def _d_wins_text(self, direction: Direction, step: int) -> str:
        return (
            f"step {step}: the {direction.target} discriminator has won outright since step "
            f"{direction.winning_since} (its loss under {D_WINS_LOSS}, "
            f"{direction.source} -> {direction.target}'s GAN loss over {G_LOSES_LOSS}): that "
            "generator gets no useful push; see README 'When a pair does not translate'"
        )

    @staticmethod
    def _once(direction: Direction, kind: str, text: str) -> list[str]:
        if kind in direction.warned:
            return []
        direction.warned.add(kind)
        return [text]


@torch.no_grad()
def held_out_outputs(
    generators: dict[str, nn.Module], inputs: dict[str, torch.Tensor], output: str
) -> dict[str, np.ndarray]:
    """Each generator's uint8 outputs on its fixed held-out inputs (N×C×H×W uint8), with batch
    statistics and on a float32 copy, so the run's state is untouched."""
    return {
        name: to_pixels(
            use_batch_statistics(generator).float()(to_model(inputs[name], output)), output
        )
        for name, generator in generators.items()
    }


def far_backgrounds(inputs: torch.Tensor) -> np.ndarray:
    """Where each uint8 N×C×H×W input shows background two or more pixels from its figure,
    N×H×W bool: there its translation should be one flat colour, as the figure keeps its place
    in every pair. Read from the input itself (figures.figure_map), so files work as MNIST does."""
    figure = figure_map(inputs.float() / 255.0)[:, 0] > FIGURE_TOUCHES
    return far_background(figure.cpu().numpy())


class RunWatch:
    """The watch as the trainer runs it: the first SAMPLES test images of each domain, the
    shipped domain check (loaded at the first check), and the generators translated then."""

    def __init__(self, data, total_steps: int, log_every: int, output: str, device: torch.device):
        arrays_a, arrays_b = data.arrays_a, data.arrays_b
        # The check is loaded at the first check, so a run too short for one never loads it.
        self.watch = FailureWatch(arrays_a.domain, arrays_b.domain, total_steps, None, log_every)
        self.inputs = {
            "a2b": channels_first(arrays_a.x_test[:SAMPLES]).to(device),
            "b2a": channels_first(arrays_b.x_test[:SAMPLES]).to(device),
        }
        self.backgrounds = {name: far_backgrounds(x) for name, x in self.inputs.items()}
        self.output, self.device = output, device
        # The domain check knows our renderings only, and flat backgrounds are theirs: a user's
        # own sets are watched through the losses alone.
        self.reads_outputs = all(a.rendered and a.size == 28 for a in (arrays_a, arrays_b))

    def after_log(self, step: int, losses: dict[str, float], nets) -> list[str]:
        """Warnings after one logged row of losses (and a domain check when one is due)."""
        messages = self.watch.losses(step, losses)
        if self.reads_outputs and self.watch.check_due(step):
            if self.watch.checker is None:
                self.watch.checker = load_domain_check(self.device)
            generators = {"a2b": nets.g_ab, "b2a": nets.g_ba}
            outputs = held_out_outputs(generators, self.inputs, self.output)
            messages += self.watch.outputs(step, outputs, self.device, self.backgrounds)
        return messages
