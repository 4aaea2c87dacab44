"""Image arrays: the one conversion to the networks' layout, grids of digits, PNG writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mnist_cyclegan.atomic import write_atomic
from mnist_cyclegan.channels import grey_to_rgb


def channels_first(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 N×H×W (grey) or N×H×W×3 (RGB), as files and arrays hold images, → N×C×H×W, as
    the networks read them (a view where it can be; a copy of a read-only array)."""
    if isinstance(images, np.ndarray):
        writable = images.flags.writeable and images.flags.c_contiguous
        images = torch.from_numpy(images if writable else np.array(images, order="C"))
    return images[:, None] if images.ndim == 3 else images.permute(0, 3, 1, 2)


def to_rgb(images: np.ndarray) -> np.ndarray:
    """N×H×W (grey) or N×H×W×3 uint8 → N×H×W×3 uint8, so grids can mix domains."""
    return grey_to_rgb(images)


def grid(images: np.ndarray, columns: int = 8, pad: int = 2, fill: int = 128) -> np.ndarray:
    """Tile N images into rows of `columns`, separated by `pad` pixels of grey."""
    rgb = to_rgb(images)
    count, height, width, _ = rgb.shape
    rows = max(1, -(-count // columns))
    canvas = np.full(
        (rows * (height + pad) + pad, columns * (width + pad) + pad, 3), fill, dtype=np.uint8
    )
    for i in range(count):
        row, col = divmod(i, columns)
        top, left = pad + row * (height + pad), pad + col * (width + pad)
        canvas[top : top + height, left : left + width] = rgb[i]
    return canvas


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: 28-pixel digits are unreadable at 1:1 in a README."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def png_writer(image: np.ndarray) -> Callable[[Path], None]:
    """A function that writes `image` as a PNG to the path it is given."""
    picture = Image.fromarray(image)
    return lambda path: picture.save(path, format="PNG")


def save_png(path: Path, image: np.ndarray) -> None:
    write_atomic(path, png_writer(image))
