"""Do digits drawn on the demo page come back on flat backgrounds? Drawings as the page's pen
makes them, through the models as the demo's server sends them, scored by background std.

    python benchmarks/drawn_digits.py [--weights FILE] [--split val|test] [--count 2000]

The page's pad is a 280×280 canvas on which a pointer draws white lines 22 pixels wide with
round ends and joins (page.html). `pen_drawing` paints the same lines from strokes given as
points in the unit square (SKETCHES: each digit as a hand draws it), so this script and
tests/test_demo.py send the server what a user's hand does: strokes far thicker and
harder-edged than MNIST's pen, at whatever size and place one draws. Each drawing is placed as
the server places it (demo/digits.py) and translated by every model that reaches a coloured
domain; the figure is the largest per-channel std (0-255) of the output's background, the
pixels 2 or more from any the placed drawing touches (a real image of either coloured
domain: 0). MNIST's
own validation (or test) digits, sent the same way, are scored beside the drawings.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

PAD_SIDE = 280  # the page's canvas, in its own pixels
PEN_WIDTH = 22  # the page's lineWidth
SUPERSAMPLE = 4  # drawn larger, then reduced: the canvas's antialiased edges

Stroke = list[tuple[float, float]]

# Each digit as a hand draws it on the pad, one list of points (x, y in [0, 1]) a stroke.
SKETCHES: dict[int, list[Stroke]] = {
    0: [[(0.5, 0.2), (0.32, 0.3), (0.27, 0.5), (0.32, 0.7), (0.5, 0.8), (0.68, 0.7),
         (0.73, 0.5), (0.68, 0.3), (0.5, 0.2)]],
    1: [[(0.42, 0.3), (0.55, 0.2), (0.55, 0.8)]],
    2: [[(0.3, 0.32), (0.42, 0.2), (0.6, 0.2), (0.7, 0.32), (0.65, 0.48), (0.3, 0.8),
         (0.72, 0.8)]],
    3: [[(0.3, 0.25), (0.5, 0.18), (0.68, 0.3), (0.5, 0.48), (0.7, 0.62), (0.52, 0.8),
         (0.3, 0.74)]],
    4: [[(0.6, 0.8), (0.6, 0.2), (0.28, 0.6), (0.74, 0.6)]],
    5: [[(0.7, 0.2), (0.35, 0.2), (0.32, 0.47), (0.55, 0.43), (0.7, 0.58), (0.6, 0.78),
         (0.32, 0.78)]],
    6: [[(0.65, 0.2), (0.4, 0.35), (0.3, 0.6), (0.42, 0.8), (0.62, 0.76), (0.66, 0.58),
         (0.48, 0.5), (0.32, 0.6)]],
    7: [[(0.28, 0.22), (0.72, 0.22), (0.45, 0.8)]],
    8: [[(0.5, 0.5), (0.33, 0.35), (0.5, 0.2), (0.67, 0.35), (0.5, 0.5), (0.3, 0.66),
         (0.5, 0.8), (0.7, 0.66), (0.5, 0.5)]],
    9: [[(0.66, 0.4), (0.5, 0.52), (0.34, 0.38), (0.5, 0.2), (0.66, 0.35), (0.62, 0.8)]],
}  # fmt: skip


def pen_drawing(strokes: list[Stroke], scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    """The pad after a hand drew `strokes`, uint8 280×280×3, white on black: each stroke
    `scale`d about the pad's centre and moved by `shift` (shares of the pad's side)."""
    side = PAD_SIDE * SUPERSAMPLE
    canvas = Image.new("L", (side, side), 0)
    pen = ImageDraw.Draw(canvas)
    width = PEN_WIDTH * SUPERSAMPLE
    for stroke in strokes:
        points = [
            (
                ((x - 0.5) * scale + 0.5 + shift[0]) * side,
                ((y - 0.5) * scale + 0.5 + shift[1]) * side,
            )
            for x, y in stroke
        ]
        pen.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round ends, as lineCap = "round"
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    small = canvas.resize((PAD_SIDE, PAD_SIDE), Image.Resampling.BOX)
    return np.repeat(np.asarray(small)[..., None], 3, axis=2)


def background_std(output: np.ndarray, placed: np.ndarray, margin: int = 2) -> float:
    """The largest per-channel standard deviation (0-255) of a coloured output over its
    background: the pixels eval's flatness reads (metrics.far_background), `margin` or more
    pixels from any pixel the placed drawing touches. A real image of either coloured domain
    scores 0 there (one colour behind or around the digit)."""
    from mnist_cyclegan.evaluation.metrics import far_background

    background = far_background(placed[None], margin)[0]
    return float(output[background].astype(np.float64).std(axis=0).max())


def drawings() -> list[tuple[int, float, np.ndarray]]:
    """Every sketch at three sizes a hand draws at (small, middling, filling the pad), each
    moved off the centre: (digit, size, the pad's pixels)."""
    out = []
    for digit, strokes in SKETCHES.items():
        for scale, shift in ((0.45, (-0.2, 0.15)), (0.75, (0.08, -0.05)), (1.1, (0.0, 0.0))):
            out.append((digit, scale, pen_drawing(strokes, scale, shift)))
    return out


def real_digits(split: str, count: int) -> np.ndarray:
    """MNIST's own digits to set beside the drawings: the first `count` validation digits
    (held-out training digits, where choices are made) or test digits."""
    from mnist_cyclegan.data import load_mnist
    from mnist_cyclegan.data.domain_arrays import validation_indices

    mnist = load_mnist()
    if split == "test":
        return mnist.x_test[:count]
    return mnist.x_train[validation_indices(len(mnist.x_train))[:count]]


def scores_of(models, inputs: list[np.ndarray]) -> dict[str, list[float]]:
    """Each coloured output's background std, by target (and the domain it went via), for
    every placed input sent as the demo's server sends a drawing."""
    from mnist_cyclegan.demo.translations import translate_everywhere

    scores: dict[str, list[float]] = {}
    for placed in inputs:
        for output in translate_everywhere(models, placed, "mnist", None):
            if output.pixels.ndim == 3:  # the coloured outputs
                key = f"{output.model}: {output.target}" + (
                    f" via {output.via}" if output.via else ""
                )
                scores.setdefault(key, []).append(background_std(output.pixels, placed))
    return scores


def print_table(title: str, scores: dict[str, list[float]], limit: float) -> None:
    print(f"\n{title}\n")
    print(f"| output | inputs | worst std | 99th percentile | median | ≤ {limit} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for key, values in sorted(scores.items()):
        passing = sum(value <= limit for value in values)
        print(f"| {key} | {len(values)} | {max(values):.2f} | {np.percentile(values, 99):.2f} | "
              f"{np.median(values):.2f} | {passing}/{len(values)} |")  # fmt: skip


def main() -> None:
    """The background std of every coloured output the demo's server gives for every
    drawing, and for MNIST's own digits sent the same way, per model and target."""
    import argparse

    import torch

    from mnist_cyclegan.demo.digits import drawn_digit
    from mnist_cyclegan.demo.translations import load_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="one weights file (default: every bundled model)")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--count", type=int, default=2000, help="MNIST digits beside them")
    parser.add_argument("--limit", type=float, default=1.5)
    args = parser.parse_args()
    models = load_models(args.weights, torch.device("cpu"))
    drawn = [drawn_digit(pad) for _digit, _scale, pad in drawings()]
    print_table("Drawn digits (every sketch at three sizes)", scores_of(models, drawn), args.limit)
    real = list(real_digits(args.split, args.count))
    print_table(f"MNIST {args.split} digits", scores_of(models, real), args.limit)


if __name__ == "__main__":
    main()
