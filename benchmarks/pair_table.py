"""Print issue 18's table (docs/measurements.md) from a folder `every_pair.sh` filled: per pair,
seed and direction the share in the target domain, digit accuracy against its ceiling, PSNR,
background std, colour distances and the colour's dependence on the class, training time.

    python benchmarks/pair_table.py OUT_DIR [--split test|val]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mnist_cyclegan.evaluation.scores import Score

HEADER = (
    "| pair | seed | direction | in target | digit acc. (ceiling) | PSNR | background std "
    "| colour W1 / joint (real) | colour ~ class (real) | training |"
)


def colour_cells(row: dict) -> tuple[str, str]:
    if Score.COLOR_W1 not in row:
        return "–", "–"
    w1 = (
        f"{row[Score.COLOR_W1]:.1f} / {row[Score.COLOR_SLICED_W1]:.1f} "
        f"({row[Score.COLOR_SLICED_W1_REAL]:.1f})"
    )
    eta = f"{row[Score.COLOR_CLASS_DEPENDENCE]:.3f} ({row[Score.COLOR_CLASS_DEPENDENCE_REAL]:.3f})"
    return w1, eta


PAIR_ORDER = (
    "mnist--colored-background",
    "mnist--colored-digit",
    "colored-background--colored-digit",
)


def run_order(scores: Path) -> tuple:
    """The issue's pair order, then style and seed; other pairs after."""
    a, b, style, seed = scores.name.split(".")[0].split("--")
    pair = f"{a}--{b}"
    rank = PAIR_ORDER.index(pair) if pair in PAIR_ORDER else len(PAIR_ORDER)
    return rank, pair, style, int(seed[1:])


def table_rows(folder: Path, split: str) -> list[str]:
    lines = []
    for scores in sorted(folder.glob(f"*.{split}.json"), key=run_order):
        a, b, style, seed = scores.name.split(".")[0].split("--")
        seconds = scores.with_name(scores.name.split(".")[0] + ".seconds")
        took = f"{float(seconds.read_text()):.0f} s" if seconds.exists() else "–"
        values = json.loads(scores.read_text())
        for key, arrow in (("a2b", "A→B"), ("b2a", "B→A")):
            row = values[key]
            w1, eta = colour_cells(row)
            lines.append(
                f"| {a} ↔ {b} ({style}) | {seed[1:]} | {arrow} "
                f"| {row[Score.TARGET_DOMAIN_SHARE]:.2%} "
                f"| {row[Score.ACCURACY]:.2%} ({row[Score.ACCURACY_CEILING]:.2%}) "
                f"| {row[Score.PSNR]:.2f} "
                f"| {row[Score.FLATNESS]:.2f} | {w1} | {eta} | {took if key == 'a2b' else ''} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="test", choices=("test", "val"))
    args = parser.parse_args()
    print(HEADER)
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(table_rows(args.folder, args.split)))


if __name__ == "__main__":
    main()
