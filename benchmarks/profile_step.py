"""Where the reference training step spends its time, per operator and per input shape.

    python benchmarks/profile_step.py [--precision bf16|fp32] [--no-channels-last]

Two profiled steps (after two warm-up steps) of mnistgan's step at batch 64 on the CPU.
"""

from __future__ import annotations

import argparse

import torch
from bench_train import Variant, mnistgan_step
from torch.profiler import ProfilerActivity, profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--no-channels-last", action="store_true")
    args = parser.parse_args()
    variant = Variant(precision=args.precision, channels_last=not args.no_channels_last)
    step = mnistgan_step(torch.device("cpu"), 64, variant)
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
