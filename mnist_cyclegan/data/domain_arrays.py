"""A domain's images in memory and on disk: rendered from the embedded digits, or a `make-data`
file, with the validation and test digits eval scores.

`domain_arrays` is what `train` and `eval` call: it renders a domain straight from the embedded
digits, so nothing depends on `make-data` having run first, or reads a `make-data` file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mnist_cyclegan.atomic import write_atomic
from mnist_cyclegan.data.files import read_npz
from mnist_cyclegan.data.mnist import MNIST_KEYS, check_images, checked_labels, load_mnist
from mnist_cyclegan.domains import DOMAINS, check_style, draw_colors, get_domain, render
from mnist_cyclegan.errors import MnistganError

FORMAT_VERSION = 1
VALIDATION_DIGITS = 5_000
VALIDATION_SEED = 20_261_130  # fixed: the same held-out digits for every run and seed
EMBEDDED = "embedded"  # a domain's `source` when it was rendered from the embedded MNIST
SPLITS = ("val", "test")


@dataclass(frozen=True)
class DomainArrays:
    """A domain's images: rendered (with labels, per-image colours and the source digit of each
    image) or a user's own set (labels where it has them, colours zero, `domain` its name)."""

    domain: str
    style: str
    seed: int
    x_train: np.ndarray
    y_train: np.ndarray | None  # None: a user's set without labels
    x_test: np.ndarray
    y_test: np.ndarray | None
    colors_train: np.ndarray
    colors_test: np.ndarray
    index_train: np.ndarray
    index_test: np.ndarray
    source: str | None = EMBEDDED  # the grey digits it renders: EMBEDDED, a set's path, or None

    @property
    def channels(self) -> int:
        return 1 if self.x_train.ndim == 3 else self.x_train.shape[-1]

    @property
    def size(self) -> int:
        """The images' side in pixels (every set a run reads is square)."""
        return self.x_train.shape[1]

    @property
    def labelled(self) -> bool:
        return self.y_train is not None and self.y_test is not None

    @property
    def rendered(self) -> bool:
        """Whether these are one of our renderings of grey digits (so every measure that knows
        the rule applies), not a user's own set."""
        return self.domain in DOMAINS


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
        y_test=None if arrays.y_train is None else arrays.y_train[held_out],
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
    arrays = read_npz(path, keys)
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
