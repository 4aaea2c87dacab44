"""Where the reference training step spends its time, per operator and per input shape.

    python experiments/profile_step.py [--precision bf16|fp32] [--no-channels-last] [--wgrad-clock]
    python experiments/profile_step.py --threads 1
    python experiments/profile_step.py --preset quick

Two profiled steps (after two warm-up steps) of mnistgan's step at batch 64 on the CPU, for the
reference design or the quick preset's (with its identity term).
`--wgrad-clock` instead times the GEMM weight gradient's two parts (the im2col copy and the
matrix product) with a wall clock inside four unprofiled steps: the profiler charges each
`aten::copy_` several times what it takes without the profiler, so its table alone misleads.
"""

from __future__ import annotations

import argparse
import collections
import time

import torch
from bench_train import Variant, mnistgan_step
from torch.profiler import ProfilerActivity, profile

from mnist_cyclegan.fast import gemm_conv


def clock_weight_grads(step) -> None:
    """Per conv shape, ms per step spent in the im2col copy and in the product."""
    spent: dict[tuple, float] = collections.defaultdict(float)

    def timed(x, grad_out, weight_shape, stride):
        started = time.perf_counter()
        patches, grads = gemm_conv.gemm_operands(x, grad_out, weight_shape, stride)
        copied = time.perf_counter()
        product = grads.t() @ patches
        spent[(tuple(x.shape), weight_shape[0], "im2col")] += copied - started
        spent[(tuple(x.shape), weight_shape[0], "product")] += time.perf_counter() - copied
        return gemm_conv.as_weight(product, weight_shape)

    gemm_conv.weight_grad_by_gemm = timed
    for _ in range(2):
        step()
    spent.clear()
    steps, started = 4, time.perf_counter()
    for _ in range(steps):
        step()
    print(f"step: {(time.perf_counter() - started) / steps * 1e3:.0f} ms")
    print("input (N, C, H, W)   out  part     ms/step")
    for (shape, out, part), seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{str(shape):<20} {out:>4}  {part:<8} {seconds / steps * 1e3:7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--no-channels-last", action="store_true")
    parser.add_argument("--wgrad-clock", action="store_true")
    parser.add_argument("--preset", default="reference", choices=["reference", "quick"])
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="intra-op threads; with 1, the step runs its halves one after the other on this "
        "thread, so the profiler sees every op (side by side, it records this thread's only)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    variant = Variant(precision=args.precision, channels_last=not args.no_channels_last)
    step = mnistgan_step(torch.device("cpu"), 64, variant, args.preset)
    if args.wgrad_clock:
        clock_weight_grads(step)
        return
    for _ in range(2):
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(2):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    print(
        prof.key_averages(group_by_input_shape=True).table(
            sort_by="self_cpu_time_total", row_limit=15
        )
    )


if __name__ == "__main__":
    main()
