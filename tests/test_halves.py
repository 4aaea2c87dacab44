"""The step the trainer runs (fast/halves.py: two halves, gradients summed by hand, one after
the other or side by side) computes the reference step (cyclegan/step.py: one graph,
`.backward()`): the same losses, gradients, batch-norm statistics and pool contents."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from mnist_cyclegan.cyclegan import step as reference
from mnist_cyclegan.cyclegan.layers import PLAIN
from mnist_cyclegan.cyclegan.networks import build_networks
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.fast import halves
from mnist_cyclegan.fast.layers import FAST
from mnist_cyclegan.fast.side_by_side import run_side_by_side
from mnist_cyclegan.settings.schema import TrainSettings

# The reference design with its pool, in fp32: in bf16 each way of summing rounds apart.
SETTINGS = replace(TrainSettings(), pool_size=8, precision="fp32")


def real_pairs(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST test digits (a) and other test digits on coloured backgrounds (b)."""
    from mnist_cyclegan.data import load_mnist
    from mnist_cyclegan.domains import draw_colors, render

    grey = load_mnist().x_test[: 2 * count]
    a = torch.from_numpy(grey[:count])[:, None].float() / 255
    b = render(grey[count:], "colored-background", draw_colors(count, seed=5))
    return a, torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255


def after_one_step(run, layers, settings: TrainSettings = SETTINGS) -> dict[str, torch.Tensor]:
    """Losses, every gradient, every buffer and the pools after one step from seed 0. One
    step: after it, Adam turns rounding noise in truly zero gradients into full-size updates."""
    nets = build_networks(settings.net, 1, 3, 0, torch.device("cpu"), layers)
    optimizers = reference.build_optimizers(nets, settings, torch.device("cpu"))
    pools = (ImagePool(settings.pool_size, 0), ImagePool(settings.pool_size, 1))
    real_a, real_b = real_pairs(16)
    state = {f"loss.{k}": v for k, v in run(nets, optimizers, pools, real_a, real_b).items()}
    for name, net in nets.named().items():
        state |= {f"{name}.{k}.grad": p.grad.clone() for k, p in net.named_parameters()}
        state |= {f"{name}.{k}": p.detach().clone() for k, p in net.named_parameters()}
        state |= {f"{name}.{k}": b.clone() for k, b in net.named_buffers()}
    for index, pool in enumerate(pools):
        state[f"pool{index}"] = pool.images.clone()
    return state


def reference_run(settings: TrainSettings = SETTINGS):
    def run(nets, optimizers, pools, real_a, real_b):
        return reference.train_step(nets, optimizers, pools, real_a, real_b, settings)

    return run


def halves_run(run_halves, settings: TrainSettings = SETTINGS):
    def run(nets, optimizers, pools, real_a, real_b):
        losses = halves.train_step(
            nets, optimizers, pools, real_a, real_b, settings, run_halves=run_halves
        )
        names = halves.GENERATOR_LOSSES + halves.DISCRIMINATOR_LOSSES
        return dict(zip(names, losses, strict=True))

    return run


def assert_same_state(expected: dict, got: dict, tolerance: float) -> None:
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        scale = value.abs().max().clamp(min=1e-3)
        error = (got[name] - value).abs().max() / scale
        assert error <= tolerance, f"{name}: off by {float(error):.2e} of its largest value"


@pytest.mark.parametrize("layers", ["plain", "fast"])
def test_the_halves_step_one_after_the_other_is_the_reference_step(layers):
    """Gradients are summed in another order (each half's, then added), so they agree to float
    rounding, not bit for bit."""
    kit = PLAIN if layers == "plain" else FAST
    torch.manual_seed(0)
    expected = after_one_step(reference_run(), kit)
    torch.manual_seed(0)
    got = after_one_step(halves_run(halves.one_after_the_other), kit)
    assert_same_state(expected, got, tolerance=1e-4)


def test_the_halves_step_side_by_side_is_the_reference_step():
    """Each half side by side gets one of two threads, so the reference runs on one: two
    threads in one kernel sum in another order (up to 15% on some gradient entries)."""
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        expected = after_one_step(reference_run(), FAST)
        torch.set_num_threads(2)
        torch.manual_seed(0)
        got = after_one_step(halves_run(run_side_by_side), FAST)
    finally:
        torch.set_num_threads(saved)
    assert_same_state(expected, got, tolerance=1e-4)


def test_the_comparison_tells_a_different_step_apart():
    """The check above can fail: a step with half the cycle weight is told apart."""
    torch.manual_seed(0)
    expected = after_one_step(reference_run(), PLAIN)
    other = replace(SETTINGS, lambda_cycle=SETTINGS.lambda_cycle / 2)
    torch.manual_seed(0)
    got = after_one_step(halves_run(halves.one_after_the_other, other), PLAIN, other)
    with pytest.raises(AssertionError, match="off by"):
        assert_same_state(expected, got, tolerance=1e-4)
