"""A training step's two halves on two CPU threads: the same update as one after the other."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import torch

from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.cyclegan.step import build_optimizers
from mnist_cyclegan.fast.halves import one_after_the_other, train_step
from mnist_cyclegan.fast.layers import FAST
from mnist_cyclegan.fast.side_by_side import DeferrableBatchNorm2d, run_side_by_side
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.variants.factory import build_networks
from mnist_cyclegan.variants.patch_nce import tap
from mnist_cyclegan.variants.step import plans_for


def real_pairs(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST test digits (a) and other test digits on coloured backgrounds (b)."""
    from mnist_cyclegan.data import load_mnist
    from mnist_cyclegan.domains import draw_colors, render

    grey = load_mnist().x_test[: 2 * count]
    a = torch.from_numpy(grey[:count])[:, None].float() / 255
    b = render(grey[count:], "colored-background", draw_colors(count, seed=5))
    return a, torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255


def state_after_steps(settings: TrainSettings, side_by_side: bool, steps: int, threads: int):
    """Each half of a side-by-side step gets half the threads: `threads` 2 for it, 1 for one
    after the other, so each kernel rounds alike and what remains is the step's own arithmetic
    (two threads in one kernel sum in another order: up to 15% on some gradient entries)."""
    saved_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _state_after_steps(settings, side_by_side, steps)
    finally:
        torch.set_num_threads(saved_threads)


def _state_after_steps(settings: TrainSettings, side_by_side: bool, steps: int):
    nets = build_networks(settings.net, 1, 3, 0, torch.device("cpu"), FAST)
    if settings.lambda_nce:  # as a run prepares it: the encoders' features recorded
        tap(nets.g_ab), tap(nets.g_ba)
    optimizers = build_optimizers(nets, settings, torch.device("cpu"))
    pools = (ImagePool(settings.pool_size, 0), ImagePool(settings.pool_size, 1))
    real_a, real_b = real_pairs(16)
    run_halves = run_side_by_side if side_by_side else one_after_the_other
    torch.manual_seed(1)  # the cycle noise
    for _ in range(steps):
        losses = train_step(
            nets,
            optimizers,
            pools,
            real_a,
            real_b,
            settings,
            run_halves=run_halves,
            plans=plans_for(settings),
        )
    grads, buffers = {}, {}
    for name, net in nets.named().items():
        grads |= {f"{name}.{k}": p.grad.clone() for k, p in net.named_parameters()}
        buffers |= {f"{name}.{k}": b.clone() for k, b in net.named_buffers()}
    return losses, grads, buffers


@pytest.mark.parametrize("preset", ["reference", "quick", "quick+nce"])
def test_side_by_side_step_computes_what_one_after_the_other_does(preset):
    """fp32, with the history pool, cycle noise and (quick) the identity term on, and (+nce)
    patch contrast, whose features each half records on its own thread: losses,
    every gradient and every batch-norm running statistic agree to float32 rounding. The
    running statistics exercise the merge of the second half's private copies: G_ab and G_ba
    are each used by both halves, D_a by the second only. One step: after it, Adam turns the
    rounding noise of gradients that are truly zero into full-size updates (the GAN noise floor
    of test_distributed.py), so later steps would compare that noise, not the step."""
    name, _, nce = preset.partition("+")
    settings = replace(TrainSettings.preset(name), precision="fp32", pool_size=8)
    settings = replace(settings, cycle_noise=0.05, lambda_nce=1.0 if nce else 0.0)
    torch.manual_seed(0)
    one_after, grads_one, buffers_one = state_after_steps(settings, False, steps=1, threads=1)
    torch.manual_seed(0)
    beside, grads_two, buffers_two = state_after_steps(settings, True, steps=1, threads=2)
    assert torch.allclose(beside, one_after, rtol=1e-5, atol=1e-6), (beside, one_after)
    for key, grad in grads_one.items():
        scale = float(grad.abs().max())
        if key.endswith(".bias") and scale < 1e-4:
            continue  # a conv bias feeding batch norm: its true gradient is 0, this is rounding
        assert float((grads_two[key] - grad).abs().max()) <= 1e-5 * scale, key
    assert buffers_one.keys() == buffers_two.keys()
    for key, buffer in buffers_one.items():
        if key.endswith("num_batches_tracked"):
            assert int(buffers_two[key]) == int(buffer) >= 2, key  # every module runs twice or more
        else:
            assert torch.allclose(buffers_two[key], buffer, rtol=1e-5, atol=1e-6), key


def test_the_second_half_keeps_its_batch_norm_statistics_aside_until_the_merge():
    """While both run, the module's live statistics move only with the first half; after, they
    hold both updates in order: r = (1 − m)·((1 − m)·r₀ + m·μ₁) + m·μ₂."""
    norm = DeferrableBatchNorm2d(2, momentum=0.5).train()
    x1, x2 = torch.full((4, 2, 3, 3), 2.0), torch.full((4, 2, 3, 3), 6.0)
    seen_by_second = []

    def second():
        norm(x2)
        seen_by_second.append(norm.running_mean.clone())

    run_side_by_side(lambda: norm(x1), second, [norm])
    assert torch.allclose(norm.running_mean, torch.full((2,), 0.25 * 0 + 0.25 * 2 + 0.5 * 6))
    assert int(norm.num_batches_tracked) == 2
    assert float(seen_by_second[0].max()) in (0.0, 1.0)  # the live buffer: r₀, or after x1


def test_an_error_in_the_second_half_reaches_the_caller_and_threads_are_restored():
    threads = torch.get_num_threads()
    seen = {}

    def second():
        seen["threads"] = torch.get_num_threads()
        seen["name"] = threading.current_thread().name
        raise ValueError("second half failed")

    with pytest.raises(ValueError, match="second half failed"):
        run_side_by_side(lambda: None, second, [])
    assert torch.get_num_threads() == threads
    assert seen["threads"] == max(1, threads // 2)
    assert seen["name"].startswith("mnistgan-half")


@pytest.mark.parametrize("preset", ["reference", "quick"])
def test_side_by_side_steps_repeat_bit_for_bit_in_bf16(preset):
    """The trainer's own setting (bf16, channels-last, history pool), fresh networks ten times
    over, one step each: every gradient and statistic is the same to the bit. This caught
    oneDNN's CPU weight gradients, which differed by one bf16 step from run to run while the
    halves ran at once (the discriminator's first conv; the quick generator's stem and first
    down conv): each conv now takes its weight gradient as a GEMM or under gemm_conv's lock.
    `experiments/repeat_check.py --no-lock` shows how often runs differ without it."""
    settings = replace(TrainSettings.preset(preset), pool_size=4, batch_size=16)
    if preset == "reference":
        settings = replace(settings, net=replace(settings.net, gen_width=8, res_blocks=1))
    real_a, real_b = (x.contiguous(memory_format=torch.channels_last) for x in real_pairs(16))
    runs = []
    for _ in range(10):
        nets = build_networks(settings.net, 1, 3, 0, torch.device("cpu"), FAST)
        for net in nets.named().values():
            net.to(memory_format=torch.channels_last)
        optimizers = build_optimizers(nets, settings, torch.device("cpu"))
        pools = (ImagePool(4, 0), ImagePool(4, 1))
        torch.manual_seed(1)  # the cycle noise (the quick preset's)
        train_step(
            nets,
            optimizers,
            pools,
            real_a,
            real_b,
            settings,
            run_halves=run_side_by_side,
            plans=plans_for(settings),
        )
        runs.append(
            {
                f"{name}.{key}": value.clone()
                for name, net in nets.named().items()
                for key, value in [*net.state_dict().items()]
                + [(f"{k}.grad", p.grad) for k, p in net.named_parameters()]
            }
        )
    for other in runs[1:]:
        assert [k for k in runs[0] if not torch.equal(runs[0][k], other[k])] == []


def test_side_by_side_refuses_plain_batch_norm_whose_statistics_would_race():
    """Only the speed kit's batch norm can keep the second half's statistics aside."""
    nets = build_networks(TrainSettings().net, 1, 3, 0, torch.device("cpu"))
    with pytest.raises(TypeError, match="DeferrableBatchNorm2d"):
        run_side_by_side(lambda: None, lambda: None, nets.named().values())
