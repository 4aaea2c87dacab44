"""The embedded MNIST, users' own MNIST-like sets, and domain arrays in memory or on disk.

`domain_arrays` is what `train` and `eval` call: it renders a domain straight from the embedded
digits, so nothing depends on `make-data` having run first, or reads a `make-data` file.
"""

from __future__ import annotations

import gzip
import json
import math
import zipfile
import zlib
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from mnist_cyclegan.atomic import write_atomic
from mnist_cyclegan.domains import check_style, draw_colors, get_domain, render
from mnist_cyclegan.errors import MnistganError

MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FORMAT_VERSION = 1
IMAGE_SIZE = 28
VALIDATION_DIGITS = 5_000
VALIDATION_SEED = 20_261_130  # fixed: the same held-out digits for every run and seed
EMBEDDED = "embedded"  # a domain's `source` when it was rendered from the embedded MNIST
SPLITS = ("val", "test")
MAX_ARRAY_BYTES = 1 << 30  # 70,000 RGB digits are 165 MB; refuse what no MNIST-like set needs


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays: grey uint8 digits N×H×W and their uint8 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class DomainArrays:
    """A rendered domain: images, labels, per-image colours and the source digit of each image."""

    domain: str
    style: str
    seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    colors_train: np.ndarray
    colors_test: np.ndarray
    index_train: np.ndarray
    index_test: np.ndarray
    source: str | None = EMBEDDED  # the grey digits it renders: EMBEDDED, a set's path, or None

    @property
    def channels(self) -> int:
        return get_domain(self.domain).channels


def embedded_mnist_path() -> Path:
    return Path(str(resources.files("mnist_cyclegan") / "data" / "mnist.npz"))


@lru_cache(maxsize=4)
def _load_mnist_cached(path: str) -> Mnist:
    source = Path(path)
    if not source.exists():
        raise MnistganError(f"{source}: no such file or folder")
    if source.is_dir():
        arrays = _read_idx_folder(source)
    else:
        arrays = _read_npz(source, MNIST_KEYS)
    return _checked_mnist(source, arrays)


def load_mnist(path: Path | None = None) -> Mnist:
    """The embedded MNIST, or a Keras-style .npz / a folder of the four IDX files (raw or .gz)."""
    return _load_mnist_cached(str(Path(path) if path is not None else embedded_mnist_path()))


def _read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays `keys` of an .npz, read lazily: other members are never decompressed, and a
    member's size is checked from the zip directory and its .npy header before it is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {
                info.filename[: -len(".npy")]: info
                for info in archive.infolist()
                if info.filename.endswith(".npy")
            }
            missing = [key for key in keys if key not in members]
            if missing:
                raise MnistganError(f"{path}: not an MNIST-style .npz (missing {missing[0]})")
            return {key: _read_member(archive, members[key], path) for key in keys}
    except MnistganError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
        raise MnistganError(f"{path}: cannot read as .npz ({_short(error)})") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """One .npy member: its header first (plain dtype, size within the member), then its data."""
    name = info.filename
    if info.file_size > MAX_ARRAY_BYTES:
        raise MnistganError(f"{path}: {name} is {info.file_size} bytes, over {MAX_ARRAY_BYTES}")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise MnistganError(f"{path}: {name} is in .npy format {version}, not 1.0 or 2.0")
        if dtype.hasobject or dtype.itemsize == 0:
            raise MnistganError(f"{path}: {name} holds {dtype} values, not plain numbers")
        size = math.prod(shape) * dtype.itemsize
        if size > info.file_size:
            raise MnistganError(f"{path}: {name} promises {size} bytes, holds less")
        array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        got = member.readinto(memoryview(array.reshape(-1, order="A").view(np.uint8)))
        if got != size or member.read(1):
            raise MnistganError(f"{path}: {name} does not hold the {size} bytes it promises")
    return array


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz", *sorted(folder.glob(f"{stem}*"))]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            raise MnistganError(f"{folder}: no {stem} (or {stem}.gz) file in this folder")
        arrays[key] = read_idx(found)
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (the format MNIST ships in): a magic number, the shape, then uint8 data.
    Read as a stream (a .gz is decompressed only as far as the header promises), with the
    size the header promises checked before it is read."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            return _read_idx_stream(handle, path)
    except MnistganError:
        raise
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise MnistganError(f"{path}: cannot read ({_short(error)})") from None


def _read_idx_stream(handle, path: Path) -> np.ndarray:
    magic = handle.read(4)
    if len(magic) < 4 or magic[:3] != b"\x00\x00\x08":
        raise MnistganError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = magic[3]
    raw_shape = handle.read(4 * ndim)
    if not 1 <= ndim <= 4 or len(raw_shape) < 4 * ndim:
        raise MnistganError(f"{path}: bad IDX header ({ndim} dimensions)")
    shape = tuple(int.from_bytes(raw_shape[4 * i : 4 * i + 4], "big") for i in range(ndim))
    expected = math.prod(shape)  # Python integers: no overflow
    if expected > MAX_ARRAY_BYTES:
        raise MnistganError(f"{path}: IDX header promises {expected} bytes, over the limit")
    data = handle.read(expected + 1)
    if len(data) != expected:
        raise MnistganError(
            f"{path}: IDX header promises {expected} bytes of data, file has {len(data)}"
            + ("" if len(data) < expected else " or more")
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()


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


def domain_arrays(
    domain: str, *, style: str = "threshold", seed: int = 0, mnist: Path | None = None
) -> DomainArrays:
    """Render every train and test digit into `domain`, in memory.

    Colours are drawn once for all train digits then all test digits, from `seed`, so a domain's
    arrays are a pure function of (digits, domain, style, seed).
    """
    get_domain(domain)
    digits = load_mnist(mnist)
    n_train, n_test = len(digits.x_train), len(digits.x_test)
    colors = draw_colors(n_train + n_test, seed)
    if domain == "mnist":
        colors = np.zeros_like(colors)
    colors_train, colors_test = colors[:n_train], colors[n_train:]
    return DomainArrays(
        domain=domain,
        style=style,
        seed=seed,
        x_train=render(digits.x_train, domain, colors_train, style),
        y_train=digits.y_train.copy(),
        x_test=render(digits.x_test, domain, colors_test, style),
        y_test=digits.y_test.copy(),
        colors_train=colors_train,
        colors_test=colors_test,
        index_train=np.arange(n_train, dtype=np.int64),
        index_test=np.arange(n_test, dtype=np.int64),
        source=EMBEDDED if mnist is None else str(mnist),
    )


def validation_indices(count: int) -> np.ndarray:
    """The training digits held out for validation (design choices are made on them; test
    digits only score what we publish): a fixed 5,000 of MNIST's 60,000, or a tenth of a
    smaller set, the same for every run and seed."""
    size = min(VALIDATION_DIGITS, count // 10)
    return np.sort(np.random.default_rng(VALIDATION_SEED).permutation(count)[:size])


def split_view(arrays: DomainArrays, split: str, count: int | None = None) -> DomainArrays:
    """`arrays` with `split`'s digits as the ones eval scores: the test digits as they are, or
    the validation digits (held-out training digits, in the colours training rendered). `count`
    is the number of training digits the run drew from (the smaller of its two sets)."""
    if split not in SPLITS:
        raise MnistganError(f"--split {split}: choose val or test")
    if split == "test":
        return arrays
    held_out = validation_indices(len(arrays.x_train) if count is None else count)
    return replace(
        arrays,
        x_test=arrays.x_train[held_out],
        y_test=arrays.y_train[held_out],
        colors_test=arrays.colors_train[held_out],
        index_test=arrays.index_train[held_out],
    )


def save_domain(path: Path, arrays: DomainArrays, *, extra_settings: dict | None = None) -> None:
    """Write a domain as a Keras-style .npz plus colours, source indices and settings JSON."""
    write_atomic(path, domain_writer(arrays, extra_settings=extra_settings))


def domain_writer(arrays: DomainArrays, *, extra_settings: dict | None = None):
    """A function that writes `arrays` as a make-data .npz to the path it is given."""
    settings = {
        "format_version": FORMAT_VERSION,
        "domain": arrays.domain,
        "style": arrays.style,
        "seed": arrays.seed,
        "channels": arrays.channels,
        **(extra_settings or {}),
    }
    payload = {
        "x_train": arrays.x_train,
        "y_train": arrays.y_train,
        "x_test": arrays.x_test,
        "y_test": arrays.y_test,
        "colors_train": arrays.colors_train,
        "colors_test": arrays.colors_test,
        "index_train": arrays.index_train,
        "index_test": arrays.index_test,
        "settings": np.array(json.dumps(settings, sort_keys=True)),
    }

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **payload)

    return write


def load_domain(path: Path) -> DomainArrays:
    """Read a file written by `make-data`, checking that it is one: its settings, and every
    array's dtype and shape against them."""
    path = Path(path)
    if not path.is_file():
        raise MnistganError(f"{path}: no such file")
    keys = (*MNIST_KEYS, "colors_train", "colors_test", "index_train", "index_test", "settings")
    arrays = _read_npz(path, keys)
    domain, style, seed, source = _domain_settings(path, arrays["settings"])
    channels = get_domain(domain).channels
    for split in ("train", "test"):
        images = arrays[f"x_{split}"]
        check_images(path, f"x_{split}", images, channels)
        arrays[f"y_{split}"] = checked_labels(path, split, arrays)
        colors, index = arrays[f"colors_{split}"], arrays[f"index_{split}"]
        if colors.shape != (len(images), 3) or colors.dtype != np.uint8:
            raise MnistganError(f"{path}: colors_{split} must be {len(images)}×3 uint8 colours")
        if index.shape != (len(images),) or index.dtype.kind not in "iu":
            raise MnistganError(f"{path}: index_{split} must be {len(images)} integer indices")
    return DomainArrays(
        domain=domain,
        style=style,
        seed=seed,
        source=source,
        **{key: arrays[key] for key in keys if key != "settings"},
    )


def _domain_settings(path: Path, stored: np.ndarray) -> tuple[str, str, int, str | None]:
    """(domain, style, seed, source of its grey digits) from a make-data file's settings JSON,
    each checked; the source is None where the file does not say."""
    try:
        if stored.dtype.kind != "U" or stored.shape != () or stored.dtype.itemsize > 1 << 20:
            raise ValueError("not a JSON string")
        settings = json.loads(str(stored))
        domain, style, seed = settings["domain"], settings["style"], settings["seed"]
        if not (isinstance(domain, str) and isinstance(style, str) and isinstance(seed, int)):
            raise TypeError("wrong types")
        get_domain(domain)
        check_style(style)
        source = settings.get("mnist")
    except (ValueError, KeyError, TypeError, AttributeError, MnistganError, RecursionError):
        raise MnistganError(f"{path}: settings are not mnistgan make-data JSON") from None
    return domain, style, seed, source if isinstance(source, str) else None


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
