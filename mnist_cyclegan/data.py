"""The embedded MNIST, users' own MNIST-like sets, and domain arrays in memory or on disk.

`domain_arrays` is what `train` and `eval` call: it renders a domain straight from the embedded
digits, so nothing depends on `make-data` having run first, or reads a `make-data` file.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from mnist_cyclegan.atomic import write_atomic
from mnist_cyclegan.domains import draw_colors, get_domain, render
from mnist_cyclegan.errors import MnistganError

MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FORMAT_VERSION = 1


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
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                absent = ", ".join(missing)
                raise MnistganError(f"{path}: not an MNIST-style .npz (missing {absent})")
            return {key: archive[key] for key in archive.files}
    except MnistganError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as error:
        raise MnistganError(f"{path}: cannot read as .npz ({_short(error)})") from None


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
    """One IDX file (the format MNIST ships in): a magic number, the shape, then uint8 data."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise MnistganError(f"{path}: cannot read ({_short(error)})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise MnistganError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise MnistganError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise MnistganError(
            f"{path}: IDX header promises {expected} bytes of data, file has {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _checked_mnist(source: Path, arrays: dict[str, np.ndarray]) -> Mnist:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise MnistganError(
                f"{source}: x_{split} must be N×H×W uint8 digits, got {images.dtype} {images.shape}"
            )
        if labels.shape != (len(images),):
            raise MnistganError(f"{source}: y_{split} has {labels.shape}, x_{split} {images.shape}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise MnistganError(f"{source}: train and test images differ in size")
    return Mnist(*(np.ascontiguousarray(arrays[key]) for key in MNIST_KEYS))


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
    )


def save_domain(path: Path, arrays: DomainArrays, *, extra_settings: dict | None = None) -> None:
    """Write a domain as a Keras-style .npz plus colours, source indices and settings JSON."""
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

    write_atomic(path, write)


def load_domain(path: Path) -> DomainArrays:
    """Read a file written by `make-data`, checking that it is one."""
    path = Path(path)
    if not path.exists():
        raise MnistganError(f"{path}: no such file")
    keys = (*MNIST_KEYS, "colors_train", "colors_test", "index_train", "index_test", "settings")
    arrays = _read_npz(path, keys)
    try:
        settings = json.loads(str(arrays["settings"]))
        domain, style, seed = settings["domain"], settings["style"], int(settings["seed"])
    except (ValueError, KeyError, TypeError):
        raise MnistganError(f"{path}: settings are not mnistgan make-data JSON") from None
    channels = get_domain(domain).channels
    for split in ("train", "test"):
        images = arrays[f"x_{split}"]
        expected_ndim = 3 if channels == 1 else 4
        if images.dtype != np.uint8 or images.ndim != expected_ndim:
            raise MnistganError(f"{path}: x_{split} is {images.dtype} {images.shape}, not {domain}")
    return DomainArrays(
        domain=domain,
        style=style,
        seed=seed,
        **{key: arrays[key] for key in keys if key != "settings"},
    )


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
