"""Semantic consistency by a task network (`--keep-labels --label-reader translated`, not in the
reference; PixelDA, Bousmalis et al., CVPR 2017): the other form of `--keep-labels`
(keep_labels.py is CyCADA's, whose reader learns from real labelled images before the run).

Here the reader of G(x) learns during the run, from what it will judge: for each side with
labels, a classifier of the other side's images (the eval reader's design) is trained at every
step on that step's translations G(x) of the labelled images, with their labels, and on the
real labelled images themselves, as PixelDA trains its task network on adapted and source
images alike. Its cross-entropy on G(x) against x's label is also in the generator's step, so
a translation that loses its class costs the generator what it costs the classifier. A half
whose input side has no labels gets no term (PixelDA's task loss is one-way). The term is held
at 0 for the classifier's first WARMUP updates, while it still reads nothing (CyCADA's
released code does the same). The classifiers and their optimiser are in the checkpoint, so a
resumed run is bit-identical to an unbroken one.

Measured (BENCHMARKS.md, "With labels: the two forms"; validation images, seed 0, against
CyCADA's form the same day): typed → mnist 68.1% of digits kept (CyCADA's 99.7%, label-free
50.3%), mnist → typed 68.7% (96.2%, 54.4%), shapes 92.4% and 92.1% (98.3% and 97.4%), mnist ↔
mnist-m 97.4% and 96.8% (97.7% and 97.6%), adaptation into mnist-m 94.1% (95.7%); a step costs
1.30–1.42× CyCADA's. Its classifiers read the translations nearly all right while eval's
readers do not: they learn whatever code the generator writes. Not kept: `--keep-labels`
means CyCADA's form. tests/test_task_network.py checks the term and the classifier's update
against hand computations, and the CLI with labels, without, and resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.fast.halves import Term
from mnist_cyclegan.variants.keep_labels import read
from mnist_cyclegan.variants.variant import HalfContext, Variant

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import TrainSettings

# The task loss's weight is --labels-weight (1: beside the GAN loss's 1, as PixelDA weighs
# them, β ≈ α).
WARMUP = 100  # the classifier's updates before its term counts
LEARNING_RATE = 1e-3  # PixelDA's Adam rate
SEED = 505  # added to the run's seed: each classifier's first weights
DIRECTIONS = ("a2b", "b2a")


class TaskNetworks(nn.Module):
    """For each half-cycle whose input side has labels ("a2b" where A has them), a classifier
    of its output side's images, trained during the run; `updates` counts its steps."""

    def __init__(self, networks: dict[str, nn.Module], output: str) -> None:
        super().__init__()
        self.networks = nn.ModuleDict(networks)
        self.output = output  # "sigmoid": images in [0, 1]; "tanh": in [-1, 1]
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))
        self.optimizer = torch.optim.Adam(self.networks.parameters(), lr=LEARNING_RATE)
        self.pending: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @property
    def ready(self) -> bool:
        return int(self.updates) >= WARMUP

    def half(self, direction: str, labels_x: torch.Tensor | None) -> TaskHalf | None:
        """What the half-cycle `direction` reads its term with; None where x has no labels."""
        if direction not in self.networks or labels_x is None:
            return None
        return TaskHalf(self, direction, labels_x)

    def update(self, reduce_grads: Callable[[list[nn.Parameter]], None] | None = None) -> None:
        """One Adam step of every classifier on what this step's halves handed it (their
        translations, detached, and the real images they came from, with their labels)."""
        if not self.pending:
            return
        params = list(self.networks.parameters())
        loss = sum(
            task_loss(self.networks[direction], fake, real, labels, self.output)
            for direction, (fake, real, labels) in sorted(self.pending.items())
        )
        self.pending.clear()
        grads = torch.autograd.grad(loss, params, allow_unused=True, materialize_grads=True)
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
        if reduce_grads is not None:
            reduce_grads(params)
        self.optimizer.step()
        self.updates += 1


@dataclass(frozen=True)
class TaskHalf:
    """One half-cycle's classifier and its input's labels."""

    owner: TaskNetworks
    direction: str
    labels_x: torch.Tensor

    def loss(self, real_x: torch.Tensor, fake_y: torch.Tensor) -> torch.Tensor:
        """The generator's term, the classifier's cross-entropy on G(x) against x's label; the
        step's G(x) and x are kept for the classifier's own update."""
        self.owner.pending[self.direction] = (fake_y.detach(), real_x.detach(), self.labels_x)
        network = self.owner.networks[self.direction]
        return F.cross_entropy(read(network, fake_y, self.owner.output), self.labels_x)


def task_loss(
    network: nn.Module,
    fake_y: torch.Tensor,
    real_x: torch.Tensor,
    labels: torch.Tensor,
    output: str,
) -> torch.Tensor:
    """The classifier's own loss: cross-entropy on the translations and on the real images
    (made its side's channels), each against the real images' labels."""
    return F.cross_entropy(read(network, fake_y, output), labels) + F.cross_entropy(
        read(network, real_x, output), labels
    )


def task_term(settings: TrainSettings, context: HalfContext) -> Term:
    half = context.task
    if half is None:  # x's side has no labels: nothing to keep
        return Term("task", 0.0, lambda g, f, real_x, fake_y: fake_y.new_zeros(()))
    weight = settings.labels_weight if half.owner.ready else 0.0

    def value(g, f, real_x, fake_y) -> torch.Tensor:
        return half.loss(real_x, fake_y)

    return Term("task", weight, value)


VARIANT = Variant(
    name="semantic consistency by a task network",
    is_on=lambda settings: settings.keep_labels and settings.label_reader == "translated",
    changes_step=True,
    logged=("task",),
    term=task_term,
)
