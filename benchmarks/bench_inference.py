"""Inference speed: the Translator (PyTorch) against its ONNX export in onnxruntime, one run.

    python benchmarks/bench_inference.py [--model mnist-colored-background] [--batch 256]

Both translate the same 10,000 test digits of each direction, uint8 in and out, in batches of
`--batch`, after a warm-up; rounds alternate between the two so a slow spell of a noisy
machine hits both. Prints images per second (median of the rounds) and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from mnist_cyclegan import Translator
from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.export import export_onnx


def digits_for(translator: Translator, direction: str) -> np.ndarray:
    meta = translator.meta
    if direction == "a2b":
        return domain_arrays(meta.domain_a, style=meta.style, seed=meta.seed).x_test
    return domain_arrays(meta.domain_b, style=meta.style, seed=meta.seed + 1).x_test


def run_session(session: onnxruntime.InferenceSession, name: str, images: np.ndarray):
    return session.run(None, {name: images})


def timed(run, images: np.ndarray, batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(images), batch):
        run(images[start : start + batch])
    return len(images) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist-colored-background")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    translator = Translator.load(args.model)
    print(
        f"# {args.model}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"threads {torch.get_num_threads()}, batch {args.batch}, {time.strftime('%Y-%m-%d')}"
    )
    print(f"{'direction':<10} {'Translator img/s':>17} {'onnxruntime img/s':>18} {'ratio':>6}")
    for direction in ("a2b", "b2a"):
        images = digits_for(translator, direction)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.onnx"
            export_onnx(translator, direction, "uint8", path)
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        shaped = images[..., None] if images.ndim == 3 else images
        runs = {
            "torch": (partial(translator.translate_uint8, direction=direction), images),
            "onnx": (partial(run_session, session, name), shaped),
        }
        for run, data in runs.values():
            timed(run, data[: 4 * args.batch], args.batch)  # warm-up
        rates: dict[str, list[float]] = {key: [] for key in runs}
        for _ in range(args.rounds):
            for key, (run, data) in runs.items():
                rates[key].append(timed(run, data, args.batch))
        torch_rate, onnx_rate = (statistics.median(rates[k]) for k in ("torch", "onnx"))
        ratio = onnx_rate / torch_rate
        print(f"{direction:<10} {torch_rate:>17.0f} {onnx_rate:>18.0f} {ratio:>5.2f}x")


if __name__ == "__main__":
    main()
