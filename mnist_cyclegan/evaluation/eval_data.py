"""Which digits `eval` scores: the data a model was trained on, or the files a user names.

A model trained on the embedded MNIST is scored on it, rendered as its run rendered it. A model
trained on `make-data` files (Fashion-MNIST, a user's own set) is scored on those files' own
test (or validation) digits, read by classifiers trained on those files, so a translator of
garments is not judged by a reader of digits. Fidelity needs each digit's grey original: the
files name the set they were rendered from, or `--mnist` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_cyclegan.data import (
    EMBEDDED,
    DomainArrays,
    domain_arrays,
    load_domain,
    load_mnist,
    split_view,
    validation_indices,
)
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.weights import WeightsMeta


@dataclass(frozen=True)
class EvalSources:
    """Files to score on instead of the embedded MNIST: make-data files for A and B, and the
    grey set they were rendered from (for fidelity)."""

    data_a: Path | None = None
    data_b: Path | None = None
    mnist: Path | None = None


@dataclass(frozen=True)
class ScoredDigits:
    """One domain's digits to score (its `x_test` after the split) and their grey originals
    (None when unknown: fidelity and the mask-based measures are then left out)."""

    arrays: DomainArrays
    grey: np.ndarray | None
    description: str


def with_training_files(meta: WeightsMeta, given: EvalSources) -> EvalSources:
    """The files given, else the files the model's run trained on (its settings name them)."""
    settings = meta.settings
    recorded_a = settings.data_a if settings is not None else None
    recorded_b = settings.data_b if settings is not None else None
    data_a = given.data_a or (Path(recorded_a) if recorded_a else None)
    data_b = given.data_b or (Path(recorded_b) if recorded_b else None)
    for path, flag in ((data_a, "--data-a"), (data_b, "--data-b")):
        if path is not None and not path.is_file():
            raise MnistganError(
                f"{path}: no such file (the model trained on it); give {flag} to score it on a "
                "make-data file you choose"
            )
    return EvalSources(data_a, data_b, given.mnist)


def side_arrays(meta: WeightsMeta, side: str, data_file: Path | None) -> DomainArrays:
    """Domain `side` ("a" or "b") as training rendered it, or read from `data_file`."""
    domain = meta.domain_a if side == "a" else meta.domain_b
    if data_file is None:
        seed = meta.seed if side == "a" else meta.seed + 1
        return domain_arrays(domain, style=meta.style, seed=seed)
    arrays = load_domain(data_file)
    if arrays.domain != domain:
        raise MnistganError(
            f"{data_file}: holds domain {arrays.domain!r}, but the model's {side.upper()} side "
            f"is {domain!r}"
        )
    return arrays


def scored_digits(
    arrays: DomainArrays, split: str, count: int, mnist: Path | None, label: str
) -> ScoredDigits:
    """`arrays` cut to `split` (`count`: the training digits the run drew from, for the same
    validation digits it held out), with each scored digit's grey original."""
    view = split_view(arrays, split, count)
    grey = grey_originals(view, split, mnist)
    return ScoredDigits(view, grey, describe(arrays, label))


def grey_originals(view: DomainArrays, split: str, mnist: Path | None) -> np.ndarray | None:
    """The grey digit behind each scored image: the images themselves in the mnist domain,
    else the set the domain was rendered from (`--mnist` first, then the one its file names);
    None when that set is unknown or gone."""
    if view.domain == "mnist":
        return view.x_test
    if view.source == EMBEDDED:
        mnist = None  # rendered from the embedded digits: --mnist is for files made from others
    elif mnist is None:
        if view.source is None or not Path(view.source).exists():
            return None
        mnist = Path(view.source)
    digits = load_mnist(mnist)
    pool = digits.x_test if split == "test" else digits.x_train
    index = view.index_test
    if len(index) and (index.min() < 0 or index.max() >= len(pool)):
        raise MnistganError(
            f"{mnist or 'the embedded MNIST'}: not the set these images were rendered from "
            f"(they name {split} digit {index.max()}; it holds {len(pool)})"
        )
    return pool[index]


def describe(arrays: DomainArrays, label: str) -> str:
    """One line naming what was scored, for the console and the JSON."""
    if label == EMBEDDED and arrays.domain == "mnist":
        return "the embedded MNIST (mnist)"
    if label == EMBEDDED:
        return f"the embedded MNIST as {arrays.domain} ({arrays.style}, colour seed {arrays.seed})"
    source = arrays.source or "a set it does not name"
    return f"{label} ({arrays.domain}, {arrays.style}, rendered from {source})"


def training_count(arrays_a: DomainArrays, arrays_b: DomainArrays, split: str) -> int:
    """How many training digits a run on these two domains drew from: training takes the
    smaller set's size and holds out `validation_indices` of it."""
    count = min(len(arrays_a.x_train), len(arrays_b.x_train))
    if split == "val" and len(validation_indices(count)) == 0:
        raise MnistganError(f"the training sets ({count} digits) are too small to hold any out")
    return count
