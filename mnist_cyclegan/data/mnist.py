"""MNIST itself: the embedded copy, or a user's grey set in MNIST's own files (a Keras-style
.npz, or a folder of the four IDX files), checked to be N×28×28 uint8 digits with labels 0-9."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from mnist_cyclegan.data.files import read_idx_files, read_npz
from mnist_cyclegan.errors import MnistganError

MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IMAGE_SIZE = 28


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays: grey uint8 digits N×H×W and their uint8 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def embedded_mnist_path() -> Path:
    return Path(str(resources.files("mnist_cyclegan") / "data" / "mnist.npz"))


@lru_cache(maxsize=4)
def _load_mnist_cached(path: str) -> Mnist:
    source = Path(path)
    if not source.exists():
        raise MnistganError(f"{source}: no such file or folder")
    if source.is_dir():
        arrays = read_idx_folder(source)
    else:
        arrays = read_npz(source, MNIST_KEYS)
    return _checked_mnist(source, arrays)


def load_mnist(path: Path | None = None) -> Mnist:
    """The embedded MNIST, or a Keras-style .npz / a folder of the four IDX files (raw or .gz)."""
    return _load_mnist_cached(str(Path(path) if path is not None else embedded_mnist_path()))


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """The four IDX files of MNIST's layout (raw, .gz, or a name they begin), sizes checked
    together before any is read."""
    paths = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz", *sorted(folder.glob(f"{stem}*"))]
        found = next((path for path in candidates if path.is_symlink() or path.exists()), None)
        if found is None:
            raise MnistganError(f"{folder}: no {stem} (or {stem}.gz) file in this folder")
        paths[key] = found
    return read_idx_files(paths)


def _checked_mnist(source: Path, arrays: dict[str, np.ndarray]) -> Mnist:
    for split in ("train", "test"):
        check_images(source, f"x_{split}", arrays[f"x_{split}"], channels=1)
        arrays[f"y_{split}"] = checked_labels(source, split, arrays)
    return Mnist(*(np.ascontiguousarray(arrays[key]) for key in MNIST_KEYS))


def check_images(source: Path, name: str, images: np.ndarray, channels: int) -> None:
    """N×28×28 (grey) or N×28×28×3 (RGB) uint8 digits, N at least 1: what the networks and
    the classifiers read."""
    shape = (IMAGE_SIZE, IMAGE_SIZE) if channels == 1 else (IMAGE_SIZE, IMAGE_SIZE, 3)
    if images.dtype != np.uint8 or images.shape[1:] != shape or len(images) == 0:
        wanted = "×".join(["N", *map(str, shape)])
        raise MnistganError(
            f"{source}: {name} must be {wanted} uint8 images, not {images.dtype} "
            f"{'×'.join(map(str, images.shape)) or 'a scalar'}"
        )


def checked_labels(source: Path, split: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The digit labels of a split, as uint8 in 0-9, one per image."""
    labels, images = arrays[f"y_{split}"], arrays[f"x_{split}"]
    if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
        raise MnistganError(
            f"{source}: y_{split} must be {len(images)} integer labels, not {labels.dtype} "
            f"{labels.shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise MnistganError(f"{source}: y_{split} holds labels outside 0-9")
    return labels.astype(np.uint8)
