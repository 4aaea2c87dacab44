"""Reference points for reading eval's numbers, on the validation digits by default.

    python benchmarks/metric_bounds.py [--weights runs/quick/weights.safetensors] [--split val|test]

Design choices are studied on the validation digits (training digits a run with `validation`
never sees); `--split test` only for figures about to be published.

1. PSNR of colored-background → mnist if a translator recovered every pixel the threshold
   rendering keeps and guessed 0 for the anti-aliasing it erases (grey < 127.5).
2. PSNR of colored-digit → mnist (threshold: the digit is one flat colour, every grey level is
   erased) for a translator that knew the answer on average: each pixel guessed as the mean
   grey of training pixels whose binary 5×5 neighbourhood matches (3×3 where a pattern is rare).
   It is fitted on *paired* training digits, which CycleGAN never sees, so it is a yardstick
   for issue 18's 26 dB target, not a bound a translator cannot pass (wider context helps).
   Beside it, the same lookup *sampling* each grey (a training pixel's with the same pattern,
   drawn at random) instead of taking the mean: what a translator whose greys are as varied as
   real MNIST's scores. A GAN asks for such outputs, not for the mean: for any pixel, a draw
   from the data's spread misses the truth by twice the variance the mean does (E(X - X')² =
   2 Var X), so about 3 dB below the mean's PSNR.
3. Colour diversity (W1, 0–255) of a translator that paints every image one colour, for the
   best single colour and a few others, against the real colours.
4. With --weights (an mnist ↔ colored-background run): where that translator's B→A error lies,
   split into the digit's core (grey ≥ 127.5, which the B image shows), the anti-aliased ring
   (0 < grey < 127.5, which it erases) and the background (grey 0); and its B→A accuracy and
   PSNR by how bright the input's background colour is (mean of R, G, B).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from mnist_cyclegan.data import domain_arrays, split_view, validation_indices
from mnist_cyclegan.evaluation import metrics
from mnist_cyclegan.evaluation.classifier import load_or_train_classifier, predict
from mnist_cyclegan.evaluation.evaluate import check_split
from mnist_cyclegan.evaluation.translation import translate_batches
from mnist_cyclegan.weights import load_generators


def by_background(output: np.ndarray, grey: np.ndarray, brightness: np.ndarray, split: str) -> None:
    mnist = split_view(domain_arrays("mnist", seed=0), split)
    labels = mnist.y_test
    read, _ = predict(
        load_or_train_classifier(mnist, torch.device("cpu")), output, torch.device("cpu")
    )
    psnr = metrics.psnr(output, grey.astype(np.uint8))
    print("B→A by the input's background brightness (mean of R, G, B, 0–255):")
    for low, high in ((0, 64), (64, 128), (128, 192), (192, 256)):
        inside = (brightness >= low) & (brightness < high)
        misread = int((read[inside] != labels[inside]).sum())
        print(
            f"  [{low:3d}, {high:3d}): {inside.sum():5d} digits, accuracy "
            f"{(read[inside] == labels[inside]).mean():6.2%}, {misread:3d} misread, "
            f"PSNR {psnr[inside].mean():5.2f} dB"
        )


def neighbourhood_codes(grey: np.ndarray, radius: int) -> np.ndarray:
    """Each pixel's binary (grey >= 127.5) neighbourhood of side 2·radius+1, as an integer."""
    ink = np.pad((grey >= 127.5).astype(np.int64), ((0, 0), (radius, radius), (radius, radius)))
    height, width = grey.shape[1:]
    codes = np.zeros(grey.shape, dtype=np.int64)
    side = 2 * radius + 1
    for bit in range(side * side):
        dy, dx = divmod(bit, side)
        codes |= ink[:, dy : dy + height, dx : dx + width] << bit
    return codes


def lookup_guess(
    train: np.ndarray, grey: np.ndarray, rng: np.random.Generator | None = None, min_count: int = 5
) -> np.ndarray:
    """Per pixel, the training greys under the same 5×5 binary pattern (the 3×3 one where the
    wide pattern was seen under `min_count` times): their mean, or with `rng` one of them drawn
    at random."""
    guesses = []
    for radius in (1, 2):
        seen, asked = neighbourhood_codes(train, radius).ravel(), neighbourhood_codes(grey, radius)
        order = np.argsort(seen, kind="stable")
        sorted_codes, sorted_greys = seen[order], train.ravel()[order].astype(np.float64)
        first = np.searchsorted(sorted_codes, asked, side="left")
        count = np.searchsorted(sorted_codes, asked, side="right") - first
        if rng is None:
            sums = np.concatenate([[0.0], np.cumsum(sorted_greys)])
            guess = (sums[first + count] - sums[first]) / np.maximum(count, 1)
        else:
            pick = first + (rng.random(asked.shape) * count).astype(np.int64)
            guess = np.where(count > 0, sorted_greys[np.minimum(pick, len(seen) - 1)], 0.0)
        guesses.append((guess, count))
    (narrow, _), (wide, wide_count) = guesses
    guess = np.where(wide_count >= min_count, wide, narrow)
    return np.clip(np.round(guess), 0, 255).astype(np.uint8)


def error_split(weights: str, grey: np.ndarray, split: str) -> None:
    _, g_ba, meta = load_generators(weights)
    check_split(meta, split)
    arrays = split_view(domain_arrays("colored-background", seed=meta.seed + 1), split)
    source = arrays.x_test
    output = translate_batches(g_ba, source, meta.output, torch.device("cpu"))
    by_background(output, grey, arrays.colors_test.mean(axis=1), split)
    error = output.astype(np.float64) - grey
    print(f"B→A PSNR {metrics.psnr(output, grey).mean():.2f} dB; share of squared error by region:")
    regions = {
        "core (grey >= 127.5)": grey >= 127.5,
        "ring (0 < grey < 127.5)": (grey > 0) & (grey < 127.5),
        "background (grey 0)": grey == 0,
    }
    total = float((error**2).sum())
    for name, mask in regions.items():
        part = error[mask]
        print(
            f"  {name:<24} {mask.mean():6.1%} of pixels, mean error {part.mean():+6.1f}, "
            f"mean |error| {np.abs(part).mean():5.1f}, {float((part**2).sum()) / total:5.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--split", default="val", choices=["val", "test"])
    args = parser.parse_args()
    grey = split_view(domain_arrays("mnist", seed=0), args.split).x_test
    print(f"# {args.split} digits ({len(grey)})")
    kept_only = np.where(grey >= 127.5, grey, 0).astype(np.uint8)
    print(f"PSNR, erased anti-aliasing guessed as 0: {metrics.psnr(kept_only, grey).mean():.2f} dB")
    train = domain_arrays("mnist", seed=0).x_train
    if args.split == "val":  # fitted on the training digits outside the ones it is scored on
        train = np.delete(train, validation_indices(len(train)), axis=0)
    mean_guess = lookup_guess(train, grey)
    print(
        "PSNR, colored-digit -> mnist by a paired 5x5 lookup (fitted on training digits): "
        f"{metrics.psnr(mean_guess, grey).mean():.2f} dB (its mean)"
    )
    drawn = [lookup_guess(train, grey, np.random.default_rng(seed)) for seed in range(3)]
    drawn_psnr = [metrics.psnr(guess, grey).mean() for guess in drawn]
    print(
        "  the same lookup drawing each grey from its training greys (seeds 0-2): "
        f"{min(drawn_psnr):.2f}-{max(drawn_psnr):.2f} dB"
    )
    real = split_view(domain_arrays("colored-background", seed=1), args.split).colors_test
    real = real.astype(np.float64)
    for value in (0, 64, 127, 191, 254):
        constant = np.full_like(real, value)
        mean, _ = metrics.color_diversity(constant, real)
        print(f"colour W1, every image ({value},{value},{value}): {mean:.1f}")
    if args.weights:
        error_split(args.weights, grey.astype(np.float64), args.split)


if __name__ == "__main__":
    main()
