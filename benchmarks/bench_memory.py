"""Peak memory of the two commands whose input a user sizes: translate of the largest image
`translate` accepts, and train on the largest own set `train` accepts.

    python benchmarks/bench_memory.py [--model mnist-colored-background] [--skip-train]

Each command runs as its own process (`python -m mnist_cyclegan ...`, as a user runs it), and
its peak resident memory is read from the operating system when it ends (getrusage of the
child). translate: a 4096 × 4096 RGB PNG of noise and strokes (the pixel limit, user_images.py)
through the model (run this script from an older commit for the figure before tiles).
train: a Keras-style .npz of grey 128 × 128 images just under the reader's byte limit
(data/files.py, MAX_ARRAY_BYTES), two steps of the quick preset at batch 4. Prints one table
row per command, with the machine and torch version.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mnist_cyclegan.data.files import MAX_ARRAY_BYTES
from mnist_cyclegan.user_images import MAX_PIXELS


def peak_of(command: list) -> tuple[float, float]:
    """(peak resident MB, seconds) of one child process; a failure stops the benchmark."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {result.stderr.strip()[-400:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        sys.exit("a later child did not rise above an earlier one's peak: run each case alone")
    if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >= peak:
        # A child's maximum also counts what it inherited at fork: the figure would be ours.
        sys.exit("this script's own memory is above the child's peak: the figure is not its own")
    return peak / 1024, seconds  # ru_maxrss is in KB on Linux


def large_image(path: Path) -> None:
    side = int(MAX_PIXELS**0.5)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 40, (side, side, 3), dtype=np.uint8)
    pixels[side // 4 : side // 2, side // 3 : side // 3 + 200] = 255
    Image.fromarray(pixels).save(path)


def largest_set(path: Path) -> int:
    side = 128
    count = MAX_ARRAY_BYTES // (side * side) - 16
    rng = np.random.default_rng(0)
    images = np.zeros((count, side, side), dtype=np.uint8)
    images[:, 40:90, 60:70] = rng.integers(128, 256, (count, 1, 1), dtype=np.uint8)
    np.savez(path, x_train=images)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist-colored-background")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, {time.strftime('%Y-%m-%d')}")  # fmt: skip
    print("| command | input | peak resident memory | time |")
    print("| --- | --- | --- | --- |")
    cli = [sys.executable, "-m", "mnist_cyclegan"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        large_image(folder / "large.png")
        out = folder / "out.png"
        peak, seconds = peak_of([*cli, "translate", args.model, folder / "large.png", out])
        print(f"| translate | 4096×4096 RGB, {args.model} | {peak:,.0f} MB | {seconds:.0f} s |")
        if not args.skip_train:
            count = largest_set(folder / "largest.npz")
            command = [*cli, "train", "--preset", "quick", "--data-a", "mnist", "--data-b",
                       folder / "largest.npz", "--size", "128", "--steps", "2",
                       "--batch-size", "4", "--out", folder / "run"]  # fmt: skip
            peak, seconds = peak_of(command)
            size_mb = count * 128 * 128 >> 20
            print(f"| train (quick, 2 steps) | mnist ↔ {count:,} grey 128×128 images "
                  f"({size_mb:,} MB) | {peak:,.0f} MB | {seconds:.0f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
