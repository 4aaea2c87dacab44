"""Time to quality: train a preset and evaluate it every N steps on held-out digits (the
validation digits where the preset holds them out, as the quick one does; else test digits).

    python benchmarks/time_to_quality.py --preset quick --out runs/ttq-quick [--every 250]
        [--limit 2000] [--device cpu] [--steps N] [--precision bf16|fp32]

Writes the run folder, its `eval.csv` (wall seconds, digit accuracy both ways, colour diversity,
PSNR, ... per evaluation) and `time_to_quality.png` (those against wall time), and prints the
rows. Wall time counts training only; evaluation pauses are excluded from `seconds`.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path

import torch

from mnist_cyclegan.plots import in_a_row, panel, save_image
from mnist_cyclegan.settings.resolve import with_data
from mnist_cyclegan.settings.run_options import RunOptions, resolve_device
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.training.batches import training_sides
from mnist_cyclegan.training.trainer import Trainer

X_LABEL = "training seconds"


def plot(eval_csv: Path, target: Path) -> None:
    with open(eval_csv) as handle:
        rows = list(csv.DictReader(handle))
    seconds = [float(r["seconds"]) for r in rows]

    def column(name: str) -> list[float]:
        return [float(r[name]) for r in rows]

    sheet = in_a_row(
        [
            panel(
                seconds,
                {"A->B": column("a2b_accuracy"), "B->A": column("b2a_accuracy")},
                "digit accuracy vs wall seconds",
                x_label=X_LABEL,
            ),
            panel(
                seconds,
                {"A->B": column("a2b_color_w1")},
                "colour W1 (0-255) vs seconds",
                x_label=X_LABEL,
            ),
            panel(
                seconds,
                {"A->B": column("a2b_psnr"), "B->A": column("b2a_psnr")},
                "PSNR (dB) vs seconds",
                x_label=X_LABEL,
            ),
        ]  # fmt: skip
    )
    save_image(target, sheet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--precision", default=None)
    args = parser.parse_args()
    settings = TrainSettings.preset(args.preset)
    if args.steps is not None:
        settings = replace(settings, steps=args.steps)
    if args.precision is not None:
        settings = replace(settings, precision=args.precision)
    device = resolve_device(args.device)
    started = time.perf_counter()
    options = RunOptions(args.out, device, eval_every=args.every, eval_limit=args.limit)
    decided = with_data(settings.validate(), training_sides(settings))
    summary = Trainer(decided, options).train()
    plot(args.out / "eval.csv", args.out / "time_to_quality.png")
    print(
        f"# preset {args.preset}, {device}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}"
    )
    print(f"# {summary.step} steps, {summary.pairs_per_second:.1f} pairs/s, "
          f"total wall {time.perf_counter() - started:.0f} s including evaluations")  # fmt: skip
    print((args.out / "eval.csv").read_text())


if __name__ == "__main__":
    main()
