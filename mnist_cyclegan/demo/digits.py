"""What the demo page sends, made to look like the digits the models learnt from.

A drawing is a white stroke on black anywhere on a large canvas; MNIST's digits were
size-normalised into a 20×20 box and placed by their centre of mass in a 28×28 frame (LeCun et
al.'s description of the set). A drawing is put through the same steps, so that where and how
large one draws does not matter. A dropped image is taken as it is, centre-cropped to a square
and resized to the model's side.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from mnist_cyclegan.channels import rgb_to_grey
from mnist_cyclegan.errors import MnistganError

INK_ABOVE = 32  # a drawing's ink: grey levels above this, 0-255
BOX_SHARE = 20 / 28  # MNIST's digit box within its frame


def drawn_digit(pixels: np.ndarray, side: int = 28) -> np.ndarray:
    """A drawing (uint8 H×W or H×W×3, light on dark) as an MNIST digit, uint8 side×side:
    cropped to its ink, scaled into the box, centred by its centre of mass."""
    ink = rgb_to_grey(pixels[None])[0]  # the project's one grey rule (channels.py)
    rows, cols = np.nonzero(ink > INK_ABOVE)
    if len(rows) == 0:
        raise MnistganError("the drawing is empty: draw a digit first")
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    box = max(1, round(side * BOX_SHARE))
    scale = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    return centred(small, side)


def centred(digit: np.ndarray, side: int) -> np.ndarray:
    """`digit` pasted into a black side×side frame with its centre of mass at the middle
    (moved back inside where that would cut it)."""
    weights = digit.astype(np.float64)
    total = max(weights.sum(), 1e-9)
    centre_y = (weights.sum(axis=1) * np.arange(digit.shape[0])).sum() / total
    centre_x = (weights.sum(axis=0) * np.arange(digit.shape[1])).sum() / total
    top = int(np.clip(round(side / 2 - 0.5 - centre_y), 0, side - digit.shape[0]))
    left = int(np.clip(round(side / 2 - 0.5 - centre_x), 0, side - digit.shape[1]))
    frame = np.zeros((side, side), dtype=np.uint8)
    frame[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return frame


def dropped_image(pixels: np.ndarray, side: int = 28) -> np.ndarray:
    """An image as a model's input: the centre square, resized to side×side."""
    image = Image.fromarray(pixels)
    return np.asarray(ImageOps.fit(image, (side, side), Image.Resampling.LANCZOS))
