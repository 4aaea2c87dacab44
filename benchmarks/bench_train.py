"""Training-step speed: a plain fp32 reference loop against mnistgan's step, in one process.

    python benchmarks/bench_train.py [--device cpu|cuda] [--batch 64] [--repeats 5] [--quick]
    python benchmarks/bench_train.py --preset quick --batch 64
    python benchmarks/bench_train.py --without phases,skip_zero_rows --repeats 7

(a) `plain_generator`/`plain_discriminator` below are the reference design written the obvious
way (PyTorch `padding=` arguments, transposed convs, fp32, contiguous NCHW, eager) with the same
losses, batch and number of forward and backward passes as mnistgan's step. (b) is mnistgan's
own `train_step`, as the trainer runs it and with each optimisation switched off in turn
(`Variant`). Each row: median seconds per step over `repeats` interleaved rounds of `steps`
steps after warm-up, pairs per second and the ratio to (a).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.chains import chains_pay
from mnist_cyclegan.gemm_conv import (
    GemmGradConv2d,
    conv2d_gemm_weight_grad,
    conv2d_locked_weight_grad,
)
from mnist_cyclegan.losses import ImagePool
from mnist_cyclegan.model import Networks, build_networks, build_optimizers
from mnist_cyclegan.nets import ReflectPad, UpsampleSame
from mnist_cyclegan.padded_conv import SamePaddedConv2d
from mnist_cyclegan.phase_conv import phase_factor
from mnist_cyclegan.settings import TrainSettings
from mnist_cyclegan.step import train_step


class PlainResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.BatchNorm2d(c, 1e-3, 0.001), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.BatchNorm2d(c, 1e-3, 0.001),
        )  # fmt: skip

    def forward(self, x):
        return x + self.body(x)


def plain_generator(cin: int, cout: int) -> nn.Module:
    def cbr(conv, c):
        return [conv, nn.BatchNorm2d(c, 1e-3, 0.001), nn.ReLU()]

    return nn.Sequential(
        nn.ReflectionPad2d(3), *cbr(nn.Conv2d(cin, 32, 7), 32),
        *cbr(nn.Conv2d(32, 64, 3, 2, 1), 64), *cbr(nn.Conv2d(64, 128, 3, 2, 1), 128),
        *[PlainResBlock(128) for _ in range(6)],
        *cbr(nn.ConvTranspose2d(128, 64, 3, 2, 1, output_padding=1), 64),
        *cbr(nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1), 32),
        nn.ReflectionPad2d(3), nn.Conv2d(32, cout, 7), nn.BatchNorm2d(cout, 1e-3, 0.001),
        nn.Sigmoid(),
    )  # fmt: skip


def plain_discriminator(cin: int) -> nn.Module:
    def block(a, b, s):
        return [nn.ZeroPad2d((1, 2, 1, 2)) if s == 1 else nn.ZeroPad2d(1), nn.Conv2d(a, b, 4, s)]

    return nn.Sequential(
        *block(cin, 64, 2), nn.LeakyReLU(0.2),
        *block(64, 128, 2), nn.BatchNorm2d(128, 1e-3, 0.001), nn.LeakyReLU(0.2),
        nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(128, 256, 4, 2), nn.BatchNorm2d(256, 1e-3, 0.001),
        nn.LeakyReLU(0.2),
        *block(256, 512, 1), nn.BatchNorm2d(512, 1e-3, 0.001), nn.LeakyReLU(0.2),
        *block(512, 1, 1),
    )  # fmt: skip


def plain_loop(device: torch.device, batch: int):
    """The reference step written straightforwardly: returns a closure doing one step."""
    g_ab, g_ba = plain_generator(1, 3).to(device), plain_generator(3, 1).to(device)
    d_a, d_b = plain_discriminator(1).to(device), plain_discriminator(3).to(device)
    opt_g = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], 2e-4, betas=(0.5, 0.999))
    real_a, real_b = (
        torch.rand(batch, 1, 28, 28, device=device),
        torch.rand(batch, 3, 28, 28, device=device),
    )
    mse, l1 = nn.MSELoss(), nn.L1Loss()

    def step():
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
        for p in [*d_a.parameters(), *d_b.parameters()]:
            p.requires_grad_(False)
        score_b, score_a = d_b(fake_b), d_a(fake_a)
        loss_g = mse(score_b, torch.ones_like(score_b)) + mse(score_a, torch.ones_like(score_a))
        loss_g = loss_g + 10 * (l1(rec_a, real_a) + l1(rec_b, real_b))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for p in [*d_a.parameters(), *d_b.parameters()]:
            p.requires_grad_(True)
        loss_d = 0
        for d, real, fake in ((d_a, real_a, fake_a), (d_b, real_b, fake_b)):
            real_score, fake_score = d(real), d(fake.detach())
            loss_d = loss_d + mse(real_score, torch.ones_like(real_score))
            loss_d = loss_d + mse(fake_score, torch.zeros_like(fake_score))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        return loss_g.detach()

    return step


# Optimisations whose code runs on the CPU only (on CUDA, switching one off changes nothing)
CPU_ONLY = ("gemm_weight_grad", "phases", "skip_zero_rows", "side_by_side")


@dataclass(frozen=True)
class Variant:
    """One combination of mnistgan's optimisations; the default is what the trainer does."""

    precision: str = "bf16"
    channels_last: bool = True
    subpixel_upsample: bool = True  # off: PyTorch's ConvTranspose2d, then crop
    pad_in_dtype: bool = True  # off: reflection padding cast to fp32 by autocast
    fused_adam: bool = True
    gemm_weight_grad: bool = True  # off: oneDNN's bf16 weight gradients
    phases: bool = True  # off: generator head and last D conv as plain convs (phase_conv.py)
    skip_zero_rows: bool = True  # off: D convs 3 and 4 pad and multiply the zeros too
    side_by_side: bool = True  # off: the two chains of each update one after the other
    compiled: bool = False

    def label(self) -> str:
        parts = [self.precision] + (["channels-last"] if self.channels_last else [])
        parts += [] if self.subpixel_upsample else ["-subpixel"]
        parts += [] if self.pad_in_dtype else ["-pad-in-dtype"]
        parts += [] if self.fused_adam else ["-fused-adam"]
        parts += [] if self.gemm_weight_grad else ["-gemm-wgrad"]
        parts += [] if self.phases else ["-phases"]
        parts += [] if self.skip_zero_rows else ["-skip-zero-rows"]
        parts += [] if self.side_by_side else ["-side-by-side"]
        parts += ["compiled"] if self.compiled else []
        return "(b) mnistgan " + " ".join(parts)


def padded_forward(module: SamePaddedConv2d, conv_forward):
    """`conv_forward` (an unbound conv forward) after padding as SamePaddedConv2d pads."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        return conv_forward(module, F.pad(x, module.same_padding_of(x)))

    return forward


def unphased_forward(module: nn.Conv2d):
    """The conv's CPU path without output phases (its weight gradient as before)."""
    conv = (
        conv2d_gemm_weight_grad if isinstance(module, GemmGradConv2d) else conv2d_locked_weight_grad
    )
    return lambda x: conv(x, module.weight, module.bias, module.stride[0])


def switch_off(nets: Networks, variant: Variant) -> None:
    """Put back the plain PyTorch way for each optimisation the variant turns off."""
    for module in (m for net in nets.named().values() for m in net.modules()):
        if isinstance(module, UpsampleSame) and not variant.subpixel_upsample:
            module.forward = module.forward_transposed
        if isinstance(module, ReflectPad) and not variant.pad_in_dtype:
            module.forward = partial(nn.ReflectionPad2d.forward, module)
        few_outputs = isinstance(module, nn.Conv2d) and phase_factor(module.out_channels) > 1
        if few_outputs and not variant.phases:
            module.forward = unphased_forward(module)
        if isinstance(module, SamePaddedConv2d):
            if not variant.gemm_weight_grad:
                module.forward = padded_forward(module, nn.Conv2d.forward)
            elif not variant.skip_zero_rows:
                module.forward = padded_forward(module, GemmGradConv2d.forward)
        elif isinstance(module, GemmGradConv2d) and not variant.gemm_weight_grad:
            module.forward = partial(nn.Conv2d.forward, module)


def mnistgan_step(
    device: torch.device,
    batch: int,
    variant: Variant,
    preset: str = "reference",
    settings: TrainSettings | None = None,
):
    """mnistgan's own step on random inputs; `settings` (else the preset's) pick the design."""
    settings = settings or TrainSettings.preset(preset)
    settings = replace(settings, precision=variant.precision, batch_size=batch)
    nets = build_networks(settings.net, 1, 3, 0, device)
    switch_off(nets, variant)
    fmt = torch.channels_last if variant.channels_last else torch.contiguous_format
    for module in nets.named().values():
        module.to(memory_format=fmt)
    opt_g, opt_d = build_optimizers(nets, settings, device)
    if not variant.fused_adam:
        opt_g = torch.optim.Adam(nets.generators(), settings.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(nets.discriminators(), settings.lr, betas=(0.5, 0.999))
    if variant.compiled:
        for name in ("g_ab", "g_ba", "d_a", "d_b"):
            setattr(nets, name, torch.compile(getattr(nets, name)))
    pools = (ImagePool(0, 0), ImagePool(0, 1))
    real_a = torch.rand(batch, 1, 28, 28, device=device).contiguous(memory_format=fmt)
    real_b = torch.rand(batch, 3, 28, 28, device=device).contiguous(memory_format=fmt)
    side_by_side = variant.side_by_side and chains_pay(device)
    return lambda: train_step(
        nets, opt_g, opt_d, pools, real_a, real_b, settings, side_by_side=side_by_side
    )


def time_rounds(steps_by_label: dict, device: torch.device, steps: int, repeats: int) -> dict:
    """Median seconds per step of each closure, timed in interleaved rounds.

    Round r times every variant once before round r+1 starts, so a slow spell of a noisy
    machine lands on all variants alike instead of on whichever ran during it.
    """

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    times: dict[str, list[float]] = {label: [] for label in steps_by_label}
    sync()  # nothing of the warm-up may still be queued when the first timing starts
    for _ in range(repeats):
        for label, step in steps_by_label.items():
            started = time.perf_counter()
            for _ in range(steps):
                step()
            sync()
            times[label].append((time.perf_counter() - started) / steps)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--quick", action="store_true", help="only the baseline and the default")
    parser.add_argument(
        "--without",
        default="",
        help="comma-separated Variant fields (e.g. phases,skip_zero_rows): time only the "
        "baseline, the default and the default with each of these switched off",
    )
    parser.add_argument(
        "--preset",
        default="reference",
        help="quick: time the quick preset's design in fp32 and bf16 (no plain loop: it is the "
        "reference design; ratios are to the fp32 row)",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    steps = args.steps or (20 if device.type == "cuda" else 2)
    warmup = 5 if device.type == "cuda" else 2
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor()
    threads = torch.get_num_threads()
    print(f"# {name or platform.machine()}, torch {torch.__version__}, threads {threads}, ")
    print(f"# batch {args.batch}, {time.strftime('%Y-%m-%d')}, median of {args.repeats} "
          f"interleaved rounds of {steps} steps")  # fmt: skip
    default = Variant()
    variants = [
        Variant(precision="fp32", channels_last=False),
        Variant(precision="fp32"),
        Variant(channels_last=False),
        default,
        replace(default, subpixel_upsample=False),
        replace(default, pad_in_dtype=False),
        replace(default, fused_adam=False),
        *(
            replace(default, **{name: False})
            for name in CPU_ONLY
            if device.type == "cpu"  # elsewhere these rows would time the default again
        ),
        Variant(
            subpixel_upsample=False,
            pad_in_dtype=False,
            fused_adam=False,
            gemm_weight_grad=False,
            phases=False,
            skip_zero_rows=False,
            side_by_side=False,
        ),
    ]
    if args.quick:
        variants = [default]
    if args.without:
        names = [name.strip() for name in args.without.split(",")]
        variants = [default] + [replace(default, **{name: False}) for name in names]
    if args.compile:
        variants.append(replace(default, compiled=True))
    torch.manual_seed(0)
    baseline_label = "(a) plain fp32 reference loop"
    steps_by_label = {baseline_label: plain_loop(device, args.batch)}
    if args.preset != "reference":
        variants = [Variant(precision="fp32"), default, replace(default, side_by_side=False)]
        baseline_label = variants[0].label()
        steps_by_label = {}
    for variant in variants:
        steps_by_label[variant.label()] = mnistgan_step(device, args.batch, variant, args.preset)
    for label, step in steps_by_label.items():
        extra = 3 if "compiled" in label else 0
        for _ in range(warmup + extra):
            step()
    seconds = time_rounds(steps_by_label, device, steps, args.repeats)
    baseline = seconds[baseline_label]
    print(f"{'variant':<56} {'s/step':>8} {'pairs/s':>8} {'ratio':>6}")
    for label, value in seconds.items():
        print(f"{label:<56} {value:>8.4f} {args.batch / value:>8.1f} {baseline / value:>5.2f}x")


if __name__ == "__main__":
    main()
