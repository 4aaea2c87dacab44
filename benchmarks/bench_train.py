"""Training-step speed: a plain fp32 reference loop against mnistgan's step, in one process.

    python benchmarks/bench_train.py [--device cpu|cuda] [--batch 64] [--repeats 5] [--quick]
    python benchmarks/bench_train.py --preset quick --batch 64
    python benchmarks/bench_train.py --without phases,skip_zero_rows --repeats 7

(a) is the package's reference networks built from PyTorch's own layers (cyclegan/layers.py)
and trained the straightforward way: fp32, contiguous NCHW, PyTorch's default Adam, eager, the
two halves of each update one after the other. (b) is the same `train_step` as the trainer
runs it (the speed kit's layers, fast/layers.py) and with each optimisation switched off in
turn (`Variant`); nothing is rebound, every row builds its networks through a factory.
Each row: median seconds per step over `repeats` interleaved rounds of `steps` steps after
warm-up, pairs per second and the ratio to (a).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from dataclasses import dataclass, replace

import torch

from mnist_cyclegan.cyclegan.layers import PLAIN
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.cyclegan.step import build_optimizers
from mnist_cyclegan.fast.halves import one_after_the_other, train_step
from mnist_cyclegan.fast.layers import FastLayers, FastOptions
from mnist_cyclegan.fast.side_by_side import run_side_by_side, side_by_side_pays
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.variants.factory import build_networks
from mnist_cyclegan.variants.step import plans_for

# Optimisations whose code runs on the CPU only (on CUDA, switching one off changes nothing)
CPU_ONLY = ("gemm_weight_grad", "phases", "skip_zero_rows", "side_by_side")
FAST_OPTIONS = tuple(FastOptions.__dataclass_fields__)


@dataclass(frozen=True)
class Variant:
    """One combination of mnistgan's optimisations; the default is what the trainer does."""

    precision: str = "bf16"
    channels_last: bool = True
    kernels: str = "fast"  # plain: the reference's PyTorch layers (cyclegan/layers.py)
    subpixel_upsample: bool = True  # off: PyTorch's ConvTranspose2d, then crop
    pad_in_dtype: bool = True  # off: reflection padding cast to fp32 by autocast
    fused_adam: bool = True
    gemm_weight_grad: bool = True  # off: oneDNN's bf16 weight gradients
    phases: bool = True  # off: generator head and last D conv as plain convs (phase_conv.py)
    skip_zero_rows: bool = True  # off: D convs 3 and 4 pad and multiply the zeros too
    side_by_side: bool = True  # off: the two halves of each update one after the other
    compiled: bool = False

    def label(self) -> str:
        parts = [self.precision] + (["channels-last"] if self.channels_last else [])
        parts += ["plain-kernels"] if self.kernels == "plain" else []
        parts += [] if self.subpixel_upsample else ["-subpixel"]
        parts += [] if self.pad_in_dtype else ["-pad-in-dtype"]
        parts += [] if self.fused_adam else ["-fused-adam"]
        parts += [] if self.gemm_weight_grad else ["-gemm-wgrad"]
        parts += [] if self.phases else ["-phases"]
        parts += [] if self.skip_zero_rows else ["-skip-zero-rows"]
        parts += [] if self.side_by_side else ["-side-by-side"]
        parts += ["compiled"] if self.compiled else []
        return "(b) mnistgan " + " ".join(parts)

    def layers(self):
        """The package's own factory: PyTorch's layers, or the speed kit with these options."""
        if self.kernels == "plain":
            return PLAIN
        return FastLayers(FastOptions(**{name: getattr(self, name) for name in FAST_OPTIONS}))


# (a): the package's plain networks, trained the straightforward way: fp32, NCHW, PyTorch's
# default Adam, the two halves of each update one after the other.
PLAIN_LOOP = Variant(
    precision="fp32", channels_last=False, kernels="plain", fused_adam=False, side_by_side=False
)


def mnistgan_step(
    device: torch.device,
    batch: int,
    variant: Variant,
    preset: str = "reference",
    settings: TrainSettings | None = None,
):
    """The package's step on random inputs; `settings` (else the preset's) pick the design."""
    settings = settings or TrainSettings.preset(preset)
    settings = replace(settings, precision=variant.precision, batch_size=batch)
    nets = build_networks(settings.net, 1, 3, 0, device, variant.layers())
    fmt = torch.channels_last if variant.channels_last else torch.contiguous_format
    for module in nets.named().values():
        module.to(memory_format=fmt)
    optimizers = build_optimizers(nets, settings, device)
    if not variant.fused_adam:
        optimizers = (
            torch.optim.Adam(nets.generators(), settings.lr, betas=(0.5, 0.999)),
            torch.optim.Adam(nets.discriminators(), settings.lr, betas=(0.5, 0.999)),
        )
    if variant.compiled:
        for name in ("g_ab", "g_ba", "d_a", "d_b"):
            setattr(nets, name, torch.compile(getattr(nets, name)))
    pools = (ImagePool(0, 0), ImagePool(0, 1))
    real_a = torch.rand(batch, 1, 28, 28, device=device).contiguous(memory_format=fmt)
    real_b = torch.rand(batch, 3, 28, 28, device=device).contiguous(memory_format=fmt)
    beside = variant.side_by_side and variant.kernels == "fast" and side_by_side_pays(device)
    run_halves = run_side_by_side if beside else one_after_the_other
    return lambda: train_step(
        nets,
        optimizers,
        pools,
        real_a,
        real_b,
        settings,
        run_halves=run_halves,
        plans=plans_for(settings),
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
        replace(default, kernels="plain"),
        default,
        replace(default, subpixel_upsample=False),
        replace(default, pad_in_dtype=False),
        replace(default, fused_adam=False),
        *(
            replace(default, **{name: False})
            for name in CPU_ONLY
            if device.type == "cpu"  # elsewhere these rows would time the default again
        ),
        Variant(kernels="plain", fused_adam=False, side_by_side=False),
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
    steps_by_label = {baseline_label: mnistgan_step(device, args.batch, PLAIN_LOOP)}
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
