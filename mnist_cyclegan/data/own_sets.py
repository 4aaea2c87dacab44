"""A user's own image set as a domain: a folder of images, a Keras-style .npz or IDX files.

Each is read in two passes. The first learns every image's size and colour from headers alone
(an .npz member's and an IDX file's shape, an image file's header), so the memory the set will
take is known, and refused past MAX_ARRAY_BYTES, before a pixel is decoded. The second decodes
into one array allocated once.

Documented conversions: every image is centre-cropped to a square and resized to one size (the
data's own where all images share one square size; else `--size`). A set mixing grey and colour
images is read in colour, its grey images with three equal channels; a colour set whose three
channels are equal everywhere is read as grey. A transparent image is laid on white first.
Labels are optional; where a set has no test split of its own, a fixed HELD_OUT_SHARE of its
images is held out as one, the same for every run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_cyclegan.data.domain_arrays import DomainArrays
from mnist_cyclegan.data.files import MAX_ARRAY_BYTES, npz_members, read_idx_files, read_npz
from mnist_cyclegan.data.folders import FolderSplit, read_folder_set
from mnist_cyclegan.data.mnist import IDX_FILES
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings.fields import MAX_SIZE, MIN_SIZE, is_training_size
from mnist_cyclegan.user_images import GREY_MODES, MAX_PIXELS, read_image

HELD_OUT_SHARE = 1 / 7  # MNIST's own: 10,000 of 70,000
HELD_OUT_SEED = 20_261_203
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class Split:
    """One split's images as read (N×H×W or N×H×W×3 uint8) and their labels (None: none)."""

    images: np.ndarray
    labels: np.ndarray | None


# -- folders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    grey: bool


def read_header(path: Path) -> Header:
    """An image's size and whether it is grey, from its header alone (nothing decoded)."""
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the size is ours to judge
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                width, height = image.size
                grey = image.mode in GREY_MODES
    except UnidentifiedImageError:
        raise MnistganError(f"{path}: not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise MnistganError(f"{path}: cannot read its header ({str(error)[:100]})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if width * height > MAX_PIXELS or min(width, height) < 1:
        raise MnistganError(f"{path}: claims {width}×{height} pixels, over the limit {MAX_PIXELS}")
    return Header(width, height, grey)


def folder_sides(root: Path, side: str, size: int | None) -> tuple[Split, Split | None, int]:
    """A folder's (train, its own test or None, the size chosen), decoded at one size."""
    folder_set = read_folder_set(root, side)
    splits = [folder_set.train] + ([folder_set.test] if folder_set.test else [])
    headers = [[read_header(path) for path in split.files] for split in splits]
    every = [header for split in headers for header in split]
    chosen = size if size is not None else native_size(root, {(h.width, h.height) for h in every})
    grey = all(header.grey for header in every)
    check_memory(root, len(every), chosen, 1 if grey else 3)
    read = [decode_split(split, chosen, grey) for split in splits]
    return read[0], (read[1] if len(read) > 1 else None), chosen


def decode_split(split: FolderSplit, size: int, grey: bool) -> Split:
    shape = (len(split.files), size, size) if grey else (len(split.files), size, size, 3)
    images = np.empty(shape, dtype=np.uint8)
    for index, path in enumerate(split.files):
        pixels = read_image(path)
        if not grey and pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        images[index] = square(pixels, size)
    labels = None if split.labels is None else np.asarray(split.labels, dtype=np.int64)
    return Split(images, labels)


def square(pixels: np.ndarray, size: int) -> np.ndarray:
    """The image centre-cropped to a square and resized to size × size (Lanczos)."""
    if pixels.shape[:2] == (size, size):
        return pixels
    picture = Image.fromarray(pixels)
    return np.asarray(ImageOps.fit(picture, (size, size), Image.Resampling.LANCZOS))


def native_size(source: Path, sizes: set[tuple[int, int]]) -> int:
    """The one square size every image has, if it is one a run trains at; else say --size."""
    if len(sizes) == 1:
        width, height = next(iter(sizes))
        if width == height and is_training_size(width):
            return width
    shown = ", ".join(f"{w}×{h}" for w, h in sorted(sizes)[:3]) + (
        ", ..." if len(sizes) > 3 else ""
    )
    raise MnistganError(
        f"{source}: images of {shown} pixels; choose one --size ({MIN_SIZE} to {MAX_SIZE}, a "
        "multiple of 4) to crop and resize them to"
    )


def check_memory(source: Path, count: int, size: int, channels: int) -> None:
    needed = count * size * size * channels
    if needed > MAX_ARRAY_BYTES:
        raise MnistganError(
            f"{source}: {count:,} images at {size}×{size}×{channels} need {needed >> 20:,} MB, "
            f"over {MAX_ARRAY_BYTES >> 20:,} MB; use fewer images or a smaller --size"
        )


# -- arrays: a Keras-style .npz, IDX files ---------------------------------------------------


def npz_splits(path: Path) -> tuple[Split, Split | None]:
    """x_train (required), x_test, y_train and y_test (optional) of a Keras-style .npz: grey
    N×H×W (or N×H×W×1) or RGB N×H×W×3 uint8; each member's header checked before it is read."""
    members = npz_members(path)
    keys = tuple(key for key in ARRAY_KEYS if key in members)
    if "x_train" not in keys:
        raise MnistganError(f"{path}: not a Keras-style .npz (no x_train array)")
    arrays = read_npz(path, keys, kind="a Keras-style .npz")
    return arrays_to_splits(path, arrays)


def idx_splits(folder: Path) -> tuple[Split, Split | None]:
    """The IDX files of a folder laid out as MNIST ships (labels and test files optional)."""
    paths = {}
    for key, stem in IDX_FILES.items():
        found = next((p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()), None)
        if found is not None:
            paths[key] = found
    if "x_train" not in paths:
        raise MnistganError(f"{folder}: no {IDX_FILES['x_train']} (or .gz) file")
    return arrays_to_splits(folder, read_idx_files(paths))


def has_idx_files(folder: Path) -> bool:
    stem = IDX_FILES["x_train"]
    return (folder / stem).is_file() or (folder / f"{stem}.gz").is_file()


def arrays_to_splits(source: Path, arrays: dict[str, np.ndarray]) -> tuple[Split, Split | None]:
    splits = []
    for split in ("train", "test"):
        if f"x_{split}" not in arrays:
            splits.append(None)
            continue
        images = checked_images(source, f"x_{split}", arrays[f"x_{split}"])
        labels = arrays.get(f"y_{split}")
        splits.append(
            Split(
                images,
                None if labels is None else checked_labels(source, split, labels, len(images)),
            )
        )
    train, test = splits
    if test is not None and (train.labels is None) != (test.labels is None):
        raise MnistganError(
            f"{source}: labels for one split only: give y_train and y_test or neither"
        )
    return train, test


def checked_images(source: Path, name: str, images: np.ndarray) -> np.ndarray:
    """uint8 N×H×W, N×H×W×1 or N×H×W×3 with N ≥ 1 and sides the networks can read."""
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    colour = images.ndim == 4 and images.shape[-1] == 3
    if images.dtype != np.uint8 or not (images.ndim == 3 or colour) or len(images) == 0:
        shape = "×".join(map(str, images.shape)) or "a scalar"
        raise MnistganError(
            f"{source}: {name} must be N×H×W (grey) or N×H×W×3 (RGB) uint8 images, not "
            f"{images.dtype} {shape}"
        )
    if min(images.shape[1:3]) < 8:
        raise MnistganError(f"{source}: {name} images are {images.shape[1]}×{images.shape[2]}")
    return images


def checked_labels(source: Path, split: str, labels: np.ndarray, count: int) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (count,) or labels.dtype.kind not in "iu":
        raise MnistganError(
            f"{source}: y_{split} must be {count} integer labels, not {labels.dtype} {labels.shape}"
        )
    if count and (labels.min() < 0 or labels.max() >= 1_000):
        raise MnistganError(f"{source}: y_{split} holds labels outside 0-999")
    return labels.astype(np.int64)


def resized_split(source: Path, split: Split, size: int | None) -> tuple[Split, int]:
    """An array split at `size` (its own where None, if a size a run trains at)."""
    height, width = split.images.shape[1:3]
    chosen = size if size is not None else native_size(source, {(width, height)})
    channels = 1 if split.images.ndim == 3 else 3
    check_memory(source, len(split.images), chosen, channels)
    if (height, width) == (chosen, chosen):
        return split, chosen
    images = np.stack([square(image, chosen) for image in split.images])
    return Split(images, split.labels), chosen


# -- the set as a domain ------------------------------------------------------------------


def as_domain(
    name: str, source: Path, train: Split, test: Split | None, *, style: str, seed: int
) -> DomainArrays:
    """The set as a domain: its own test split, else a fixed held-out share of its images;
    grey and colour reconciled; no colours (the renderings' colours mean nothing here)."""
    if test is None:
        train, test = hold_out(source, train)
    train, test = matching_channels(train, test)
    return DomainArrays(
        domain=name,
        style=style,
        seed=seed,
        x_train=train.images,
        y_train=train.labels,
        x_test=test.images,
        y_test=test.labels,
        colors_train=np.zeros((len(train.images), 3), dtype=np.uint8),
        colors_test=np.zeros((len(test.images), 3), dtype=np.uint8),
        index_train=np.arange(len(train.images), dtype=np.int64),
        index_test=np.arange(len(test.images), dtype=np.int64),
        source=str(source),
    )


def hold_out(source: Path, split: Split) -> tuple[Split, Split]:
    count = len(split.images)
    held = max(1, round(count * HELD_OUT_SHARE))
    if count - held < 2:
        raise MnistganError(f"{source}: {count} images are too few to train on and test")
    order = np.random.default_rng(HELD_OUT_SEED).permutation(count)
    test, train = np.sort(order[:held]), np.sort(order[held:])

    def part(index: np.ndarray) -> Split:
        labels = None if split.labels is None else split.labels[index]
        return Split(split.images[index], labels)

    return part(train), part(test)


def matching_channels(train: Split, test: Split) -> tuple[Split, Split]:
    """Both splits grey, or both colour; a colour set with equal channels everywhere is grey."""
    splits = [train, test]
    if any(s.images.ndim == 4 for s in splits) and all(is_grey_in_colour(s.images) for s in splits):
        splits = [
            Split(s.images[..., 0] if s.images.ndim == 4 else s.images, s.labels) for s in splits
        ]
    if any(s.images.ndim == 4 for s in splits):
        splits = [
            s if s.images.ndim == 4 else Split(np.repeat(s.images[..., None], 3, axis=3), s.labels)
            for s in splits
        ]
    return splits[0], splits[1]


def is_grey_in_colour(images: np.ndarray) -> bool:
    if images.ndim == 3:
        return True
    return all(
        np.array_equal(images[start : start + 4096, ..., 0], images[start : start + 4096, ..., c])
        for start in range(0, len(images), 4096)
        for c in (1, 2)
    )
