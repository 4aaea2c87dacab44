"""What each training addition costs per step: short quick-preset runs with and without it.

    python benchmarks/variant_cost.py [--steps 120] [--rounds 2] [--pair mnist:colored-background]

Each round runs `mnistgan train --preset quick` on the pair for `steps` steps once per
variant (no flag, then each flag in VARIANT_FLAGS), one after the other, and reads the training
loop's pairs per second from the run's last line (`done: ... (N pairs/s)`: the loop alone, not
the data's rendering or a reader's training before it). It prints, per variant, the median over
rounds and its ratio to the run without flags measured in the same rounds.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

VARIANT_FLAGS = {
    "quick preset alone": [],
    "--lambda-geometry 10": ["--lambda-geometry", "10"],
    "--keep-labels": ["--keep-labels"],
    "--keep-labels --label-reader translated": ["--keep-labels", "--label-reader", "translated"],
    "--lambda-shape 2": ["--lambda-shape", "2"],
    "--lambda-nce 1": ["--lambda-nce", "1"],
    "--lambda-nce 1 --nce-encoder own": ["--lambda-nce", "1", "--nce-encoder", "own"],
}
DONE = re.compile(r"done: step \d+/\d+ in [\d.]+ s \(([\d.]+) pairs/s\)")


def pairs_per_second(pair: str, steps: int, flags: list[str], out: Path) -> float:
    """One short run's loop speed, from its last line."""
    a, b = pair.split(":")
    command = [
        "mnistgan", "train", "--preset", "quick", "--domain-a", a, "--domain-b", b,
        "--steps", str(steps), "--out", str(out), *flags,
    ]  # fmt: skip
    printed = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    found = DONE.search(printed)
    if found is None:
        raise SystemExit(f"no 'done:' line in the output of {' '.join(command)}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pair", default="mnist:colored-background")
    args = parser.parse_args()
    speeds: dict[str, list[float]] = {name: [] for name in VARIANT_FLAGS}
    with tempfile.TemporaryDirectory() as scratch:
        for round_index in range(args.rounds):
            for index, (name, flags) in enumerate(VARIANT_FLAGS.items()):
                out = Path(scratch) / f"r{round_index}-{index}"
                speeds[name].append(pairs_per_second(args.pair, args.steps, flags, out))
    base = statistics.median(speeds["quick preset alone"])
    print(f"| variant ({args.pair}, {args.steps} steps, {args.rounds} rounds) | pairs/s, each "
          "round | median | time per step, against the preset alone |")  # fmt: skip
    print("| --- | --- | ---: | ---: |")
    for name, values in speeds.items():
        median = statistics.median(values)
        shown = ", ".join(f"{value:.1f}" for value in values)
        print(f"| {name} | {shown} | {median:.1f} | {base / median:.2f}× |")


if __name__ == "__main__":
    main()
