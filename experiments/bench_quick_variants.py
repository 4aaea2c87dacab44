"""What the quick preset's candidate changes cost per training pair, in one process.

    python experiments/bench_quick_variants.py [--repeats 7]

Times mnistgan's step for an earlier quick preset (P1), the changes docs/measurements.md tried on
it (identity loss, larger batch, narrower discriminator: P2), the two generator inputs added
after that (median offset, attention mask: P3, the preset until issue 18) and today's preset
(two-tone output instead of the attention mask), in interleaved rounds on random
inputs, and prints pairs/s and the ratio to P1. A run's wall time is
its pairs divided by that rate, so these ratios say how the candidates trade time.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import fields, replace

import torch
from bench_train import Variant, mnistgan_step, time_rounds

from mnist_cyclegan.settings.schema import NetSettings, TrainSettings

# Earlier presets ("P1", "P2" in docs/measurements.md) written as changes to today's, then the
# changes that led from each to the next.
P3 = {"head": "attention"}
P2 = {**P3, "median_offset": False, "head": "sigmoid"}
P1 = {
    **P2,
    "batch_size": 32,
    "lr": 5e-4,
    "lr_decay_epochs": 1,
    "disc_width": 32,
    "lambda_identity": 0.0,
}
CANDIDATES: dict[str, dict] = {
    "P1": P1,
    "P1 --lambda-identity 5": {**P1, "lambda_identity": 5.0},
    "P1 --lambda-identity 5 --batch-size 48": {**P1, "lambda_identity": 5.0, "batch_size": 48},
    "P1 --lambda-identity 5 --batch-size 64": {**P1, "lambda_identity": 5.0, "batch_size": 64},
    "P2 (P1 + identity, batch 64, width 24)": P2,
    "P2 --median-offset": {**P2, "median_offset": True},
    "P3 (P2 + median offset, attention mask)": P3,
    "today's quick preset (P2 + median offset, two-tone output)": {},
}
NET_FIELDS = {f.name for f in fields(NetSettings)}


def quick_settings(changes: dict) -> TrainSettings:
    """The quick preset with `changes`, each to the networks' or the training's settings."""
    settings = TrainSettings.preset("quick")
    net = {k: v for k, v in changes.items() if k in NET_FIELDS}
    rest = {k: v for k, v in changes.items() if k not in NET_FIELDS}
    return replace(settings, **rest, net=replace(settings.net, **net))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    cpu = torch.device("cpu")
    steps, batches = {}, {}
    for label, changes in CANDIDATES.items():
        settings = quick_settings(changes)
        batches[label] = settings.batch_size
        steps[label] = mnistgan_step(cpu, settings.batch_size, Variant(), settings=settings)
        for _ in range(3):  # warm-up
            steps[label]()
    seconds = time_rounds(steps, cpu, 3, args.repeats)
    rate = {label: batches[label] / value for label, value in seconds.items()}
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{time.strftime('%Y-%m-%d')}, median of {args.repeats} rounds of 3 steps")  # fmt: skip
    print(f"{'design':<58} {'s/step':>7} {'pairs/s':>8} {'ratio to P1':>11}")
    for label, value in seconds.items():
        ratio = rate[label] / rate["P1"]
        print(f"{label:<58} {value:>7.3f} {rate[label]:>8.1f} {ratio:>10.2f}x")


if __name__ == "__main__":
    main()
