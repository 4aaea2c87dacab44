"""Where a model of a user's own labelled pair loses digits: each direction's translations read
by the target's reader against the inputs read by their own domain's reader, and a grid of the
inputs whose digit the translation lost (docs/measurements.md, "Your own image sets").

    python experiments/translation_errors.py WEIGHTS [--split val|test] [--grid lost.png]
        [--direction a2b|b2a]

Per direction it prints the shares of inputs both readers get right, those only the input's
reader gets right (the translation lost a readable digit: what a better translator can win
back), those only the translation's, and those neither gets. The grid shows up to 32 of the
lost inputs of one direction (b2a unless told), each above its translation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mnist_cyclegan.api import Translator
from mnist_cyclegan.channels import grey_to_rgb
from mnist_cyclegan.evaluation.classifier import predict
from mnist_cyclegan.evaluation.set_eval import SetSide, read_set_sides
from mnist_cyclegan.evaluation.translation import translate_batches

GRID_COLUMNS = 8
GRID_ROWS = 4  # pairs of rows: inputs above, their translations below
CPU = torch.device("cpu")


def direction_errors(
    translator: Translator, direction: str, source: SetSide, target: SetSide
) -> tuple[dict, np.ndarray, np.ndarray]:
    """The four shares, the indices of the inputs whose readable digit was lost, and the
    translations."""
    inputs, labels = source.view.x_test, source.view.y_test
    outputs = translate_batches(
        translator.generator(direction), inputs, translator.meta.output, CPU
    )
    translation_right = predict(target.classifier, outputs, CPU)[0] == labels
    input_right = predict(source.classifier, inputs, CPU)[0] == labels
    lost = np.flatnonzero(~translation_right & input_right)
    return reading_shares(translation_right, input_right), lost, outputs


def reading_shares(translation_right: np.ndarray, input_right: np.ndarray) -> dict[str, float]:
    """The shares of inputs by which of the two readers reads them right; they sum to 1."""
    return {
        "both right": float(np.mean(translation_right & input_right)),
        "lost by the translation": float(np.mean(~translation_right & input_right)),
        "won by the translation": float(np.mean(translation_right & ~input_right)),
        "neither": float(np.mean(~translation_right & ~input_right)),
    }


def grid(inputs: np.ndarray, outputs: np.ndarray) -> Image.Image:
    """Up to GRID_ROWS × GRID_COLUMNS inputs, each above its translation, in RGB."""
    count = min(len(inputs), GRID_ROWS * GRID_COLUMNS)
    rgb = list(grey_to_rgb(inputs[:count])), list(grey_to_rgb(outputs[:count]))
    blank = np.zeros_like(rgb[0][0])
    rows = []
    for start in range(0, count, GRID_COLUMNS):
        for images in rgb:
            cells = images[start : start + GRID_COLUMNS]
            cells += [blank] * (GRID_COLUMNS - len(cells))
            rows.append(np.concatenate(cells, axis=1))
    picture = Image.fromarray(np.concatenate(rows, axis=0))
    return picture.resize((picture.width * 3, picture.height * 3), Image.NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--grid", type=Path, help="write a grid of lost digits here (a new file)")
    parser.add_argument("--direction", default="b2a", choices=("a2b", "b2a"), help="the grid's")
    args = parser.parse_args()
    if args.grid is not None and args.grid.exists():
        raise SystemExit(f"{args.grid}: exists; give a new file for the grid")
    translator = Translator.load(args.weights)
    side_a, side_b, _ = read_set_sides(translator.meta, args.split, (None, None), CPU)
    for direction, source, target in (("a2b", side_a, side_b), ("b2a", side_b, side_a)):
        if source.classifier is None or target.classifier is None:
            raise SystemExit(f"{args.weights}: both sides need labels to read digits")
        shares, lost, outputs = direction_errors(translator, direction, source, target)
        print(direction, ", ".join(f"{name} {share:.2%}" for name, share in shares.items()))
        if args.grid is not None and direction == args.direction and len(lost):
            grid(source.view.x_test[lost], outputs[lost]).save(args.grid)
            print(f"{args.grid}: {min(len(lost), GRID_ROWS * GRID_COLUMNS)} lost digits")


if __name__ == "__main__":
    main()
