"""The step the trainer runs: the reference step (cyclegan/step.py) in two halves, so that
the halves can run side by side and the additions can plug in.

The reference step computes the same losses in one graph and calls `.backward()` on their sum.
Here each update splits into two halves that share no tensor: the generators' into the
half-cycles a → b → a (judged by D_b) and b → a → b (judged by D_a), the discriminators' into
D_a's loss and D_b's. Each half takes its own gradients (`torch.autograd.grad`), which are
added in a fixed order and laid out as fused Adam walks them, so *how* the halves run is a free
choice: `one_after_the_other` here, or side by side on two CPU threads (side_by_side.py), with
the same losses and gradients. The networks run in the reference step's order, so batch-norm
statistics and the pools' draws are the same too; tests/test_halves.py holds this step to the
reference step (the gradients' summation order differs, so within float rounding).

Additions come in as `plans`, one `HalfPlan` per half-cycle: how G(x) and F(G(x)) are
computed, and further generator terms the half-cycle sums (variants/step.py makes them). The
default plans are the reference's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

import torch
from torch import nn

from mnist_cyclegan.cyclegan.losses import discriminator_loss, generator_gan_loss, l1
from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.cyclegan.step import (
    DISCRIMINATOR_LOSSES,
    GENERATOR_LOSSES,
    autocast_for,
    set_requires_grad,
)

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import TrainSettings

__all__ = ["DISCRIMINATOR_LOSSES", "GENERATOR_LOSSES", "HalfPlan", "Term", "train_step"]
T = TypeVar("T")
U = TypeVar("U")


class HalfRunner(Protocol):
    """Runs a step's two halves and returns both results as if `first` ran before `second`;
    `modules` are those `second` runs (a runner may need to keep their state apart)."""

    def __call__(
        self, first: Callable[[], T], second: Callable[[], U], modules: Iterable[nn.Module]
    ) -> tuple[T, U]: ...


def one_after_the_other(
    first: Callable[[], T], second: Callable[[], U], modules: Iterable[nn.Module]
) -> tuple[T, U]:
    """The plain way to run the halves: first, then second, on this thread."""
    return first(), second()


@dataclass(frozen=True)
class Term:
    """A generator term beyond the reference's: `weight` · value(G, F, x, G(x))."""

    name: str
    weight: float
    value: Callable[[nn.Module, nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def plain_forward(g: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return g(x)


@dataclass(frozen=True)
class HalfPlan:
    """How one half-cycle translates: G(x) and F(G(x)) as the reference computes them, and no
    further terms; a caller that changes the step hands it other plans."""

    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor] = plain_forward  # (G, x) → G(x)
    back: Callable[[nn.Module, torch.Tensor], torch.Tensor] = plain_forward  # (F, G(x)) → F(G(x))
    terms: tuple[Term, ...] = ()


class StepPlans(Protocol):
    """Makes both half-cycles' plans for a batch, before the halves start (so what they draw
    from the random generator comes in a fixed order): (a → b → a, b → a → b)."""

    def __call__(self, real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[HalfPlan, HalfPlan]: ...


def reference_plans(real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[HalfPlan, HalfPlan]:
    return HalfPlan(), HalfPlan()


@dataclass
class HalfCycle:
    """One half of the generators' update, x → G(x) → F(G(x)), and its losses."""

    fake: torch.Tensor  # G(x), detached: what the discriminator update judges
    gan: torch.Tensor
    cycle: torch.Tensor
    terms: dict[str, torch.Tensor]  # the plan's further terms, unweighted
    total: torch.Tensor  # gan + λ_cycle · cycle + Σ weight · term

    def term(self, name: str) -> torch.Tensor:
        """A further term's value; 0 where the plan has none of that name."""
        return self.terms.get(name, self.gan.new_zeros(()))


def half_cycle(
    g: nn.Module,
    f: nn.Module,
    d_y: nn.Module,
    real_x: torch.Tensor,
    settings: TrainSettings,
    plan: HalfPlan = HalfPlan(),
) -> HalfCycle:
    """G: X → Y judged by D_Y, and F: Y → X closing the cycle."""
    with autocast_for(real_x.device, settings.precision):
        fake_y = plan.forward(g, real_x)  # G(x)
        rec_x = plan.back(f, fake_y)  # F(G(x)) ≈ x
        gan = generator_gan_loss(d_y(fake_y).float())  # (D_Y(G(x)) − 1)²
        cycle = l1(rec_x.float(), real_x)  # |F(G(x)) − x|
        total = gan + settings.lambda_cycle * cycle
        terms = {}
        for term in plan.terms:  # further terms, in the plan's order
            terms[term.name] = term.value(g, f, real_x, fake_y)
            total = total + term.weight * terms[term.name]
    return HalfCycle(fake_y.detach(), gan, cycle, terms, total)


def discriminator_half(
    d: nn.Module, real: torch.Tensor, fake: torch.Tensor, pool: ImagePool, precision: str
) -> torch.Tensor:
    """LSGAN for one discriminator: (D(real) − 1)² + D(fake)², the fake drawn through its pool."""
    with autocast_for(real.device, precision):
        return discriminator_loss(d(real).float(), d(pool.query(fake)).float())


def gradients(loss: torch.Tensor, params: list[nn.Parameter]) -> list[torch.Tensor]:
    """d loss / d params, zeros where a parameter took no part."""
    return list(torch.autograd.grad(loss, params, allow_unused=True, materialize_grads=True))


def set_grads(params: list[nn.Parameter], *grads: list[torch.Tensor]) -> None:
    """`.grad` = the sum of each half's gradient, added in a fixed order and laid out like its
    parameter (fused Adam walks parameter, gradient and moments as flat memory)."""
    for i, param in enumerate(params):
        first = grads[0][i]
        if first.stride() != param.stride():
            first = torch.empty_like(param).copy_(first)
        for more in grads[1:]:
            first.add_(more[i])
        param.grad = first


def generator_update(
    nets: Networks,
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    settings: TrainSettings,
    run_halves: HalfRunner,
    plans: StepPlans = reference_plans,
) -> tuple[HalfCycle, HalfCycle]:
    """Fill the generators' `.grad` from both half-cycles; return them."""
    params = nets.generators()
    plan_a2b, plan_b2a = plans(real_a, real_b)

    def half(g, f, d_y, real_x, plan) -> Callable[[], tuple[HalfCycle, list]]:
        def run():
            terms = half_cycle(g, f, d_y, real_x, settings, plan)
            return terms, gradients(terms.total, params)

        return run

    (a2b, grads_a2b), (b2a, grads_b2a) = run_halves(
        # a → b → a, judged by D_b; b → a → b, judged by D_a
        half(nets.g_ab, nets.g_ba, nets.d_b, real_a, plan_a2b),
        half(nets.g_ba, nets.g_ab, nets.d_a, real_b, plan_b2a),
        nets.named().values(),
    )
    set_grads(params, grads_a2b, grads_b2a)
    return a2b, b2a


def discriminator_update(
    nets: Networks,
    pools: tuple[ImagePool, ImagePool],
    reals: tuple[torch.Tensor, torch.Tensor],
    fakes: tuple[torch.Tensor, torch.Tensor],
    settings: TrainSettings,
    run_halves: HalfRunner,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill the discriminators' `.grad`: D_a tells real a from F(b), D_b real b from G(a)."""

    def half(d: nn.Module, real: torch.Tensor, fake: torch.Tensor, pool: ImagePool):
        def run():
            loss = discriminator_half(d, real, fake, pool, settings.precision)
            return loss, gradients(loss, list(d.parameters()))

        return run

    (d_a, grads_a), (d_b, grads_b) = run_halves(
        half(nets.d_a, reals[0], fakes[0], pools[0]),
        half(nets.d_b, reals[1], fakes[1], pools[1]),
        [nets.d_b],
    )
    set_grads(list(nets.d_a.parameters()), grads_a)
    set_grads(list(nets.d_b.parameters()), grads_b)
    return d_a, d_b


def train_step(
    nets: Networks,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    pools: tuple[ImagePool, ImagePool],
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    settings: TrainSettings,
    *,
    run_halves: HalfRunner = one_after_the_other,
    reduce_grads: Callable[[list[nn.Parameter]], None] | None = None,
    plans: StepPlans = reference_plans,
    logged: tuple[str, ...] = (),
) -> torch.Tensor:
    """Update G_ab, G_ba then D_a, D_b once, as cyclegan/step.py's `train_step` does; return
    the losses (GENERATOR_LOSSES, the further
    terms named in `logged`, each 0 where a plan has none, DISCRIMINATOR_LOSSES) as one
    detached tensor (so the loop need not wait for the device). `reduce_grads` averages
    gradients over processes in data-parallel training. `plans` make each half-cycle's plan;
    the default is the reference's own step (the trainer passes the plans its settings
    ask for)."""
    opt_g, opt_d = optimizers

    # 1. Generators, with the discriminators frozen.
    set_requires_grad((nets.d_a, nets.d_b), False)
    a2b, b2a = generator_update(nets, real_a, real_b, settings, run_halves, plans)
    if reduce_grads is not None:
        reduce_grads(nets.generators())
    opt_g.step()

    # 2. Discriminators, on real images and on (pooled) fakes that carry no generator gradient.
    set_requires_grad((nets.d_a, nets.d_b), True)
    fakes = (b2a.fake, a2b.fake)  # F(b) for D_a, G(a) for D_b
    d_a, d_b = discriminator_update(nets, pools, (real_a, real_b), fakes, settings, run_halves)
    if reduce_grads is not None:
        reduce_grads(nets.discriminators())
    opt_d.step()

    g_total = a2b.total + b2a.total
    terms = [a2b.term(name) + b2a.term(name) for name in logged]
    losses = [g_total, a2b.gan, b2a.gan, a2b.cycle + b2a.cycle, *terms, d_a, d_b]
    return torch.stack(losses).detach().float()
