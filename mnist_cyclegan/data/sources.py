"""What `--data-a` and `--data-b` name, read as a domain: one of our three domain names, a
`make-data` file, a Keras-style .npz, a folder of IDX files, or a folder of images.

A user's own set takes its name from its path (a folder's name; `horse2zebra-A` for the
canonical CycleGAN's `horse2zebra/trainA`), never one of ours, so that a model's domains say
whether our renderings' rules apply to them. Both sides are read at one size: `--size`, or the
data's own where both share it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from mnist_cyclegan.data import own_sets
from mnist_cyclegan.data.domain_arrays import DomainArrays, domain_arrays, load_domain
from mnist_cyclegan.data.files import npz_members
from mnist_cyclegan.data.folders import split_folders
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings.fields import MAX_SIZE, MIN_SIZE

KINDS = ("domain", "make-data", "npz", "idx", "folder")


def kind_of(spec: str) -> str:
    """Which of KINDS `spec` is; one line if it is none."""
    if spec in DOMAINS:
        return "domain"
    path = Path(spec)
    if path.is_dir():
        return "idx" if own_sets.has_idx_files(path) else "folder"
    if not path.exists():
        raise MnistganError(
            f"{spec}: no such file or folder (nor one of the domains {', '.join(DOMAINS)})"
        )
    if not path.is_file():
        raise MnistganError(f"{spec}: not a regular file or folder")
    if path.suffix.lower() != ".npz":
        raise MnistganError(
            f"{spec}: not an .npz, a folder of images or IDX files, or a domain name"
        )
    return "make-data" if "settings" in npz_members(path) else "npz"


def domain_name(spec: str, side: str) -> str:
    """The domain name a side trains under: ours for a domain name or a make-data file, else
    one made from the path (`own-` before a name that is one of ours)."""
    kind = kind_of(spec)
    if kind == "domain":
        return spec
    if kind == "make-data":
        return load_domain(Path(spec)).domain
    path = Path(spec).resolve()
    name = path.stem if kind == "npz" else path.name
    if kind == "folder":
        train, _ = split_folders(path, side)
        if train != path:  # trainA/ inside it
            name = f"{path.name}-{side.upper()}"
        elif re.fullmatch(r"train[A-Za-z]", path.name):
            name = f"{path.parent.name}-{path.name[-1].upper()}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:48] or "images"
    return f"own-{name}" if name in DOMAINS else name


def distinct_names(name_a: str, name_b: str) -> tuple[str, str]:
    """Two own sets of the same name (two `images/` folders) told apart."""
    if name_a == name_b and name_a not in DOMAINS:
        return f"{name_a}-a", f"{name_b}-b"
    return name_a, name_b


def set_identity(spec: str | None, domain: str, side: str) -> tuple[str, str]:
    """What a side reads, as a key two sides share only when they read the same images: the
    domain's name, or the resolved file or training folder."""
    kind = "domain" if spec is None else kind_of(spec)
    if kind == "domain":
        return kind, spec or domain
    path = Path(spec)
    if kind == "folder":
        path = split_folders(path, side)[0]
    return "files", str(path.resolve())


def check_two_sets(data: tuple[str | None, str | None], domains: tuple[str, str]) -> None:
    """Refuse a pair whose two sides are one set: a model cannot learn to translate a set into
    itself, and a user who names one folder twice meant two."""
    first, second = (
        set_identity(s, d, side) for s, d, side in zip(data, domains, "ab", strict=True)
    )
    if first == second:
        shown = data[0] or domains[0]
        what = "folder" if Path(shown).is_dir() else "domain" if first[0] == "domain" else "file"
        raise MnistganError(
            f"{shown}: the same {what} on both sides (A and B read the same images); give "
            "two different sets"
        )


def read_side(
    spec: str | None, domain: str, side: str, *, style: str, seed: int, size: int | None
) -> DomainArrays:
    """One side's images at `size` (None: its own): rendered here, a make-data file, or a set."""
    kind = "domain" if spec is None else kind_of(spec)
    if kind == "domain":
        return at_size(domain_arrays(spec or domain, style=style, seed=seed), size)
    path = Path(spec)
    if kind == "make-data":
        arrays = load_domain(path)
        if arrays.domain != domain:
            raise MnistganError(f"{spec}: holds domain {arrays.domain!r}, not {domain!r}")
        return at_size(arrays, size)
    if kind == "folder":
        train, test, _ = own_sets.folder_sides(path, side, size)
    else:
        train, test = own_sets.npz_splits(path) if kind == "npz" else own_sets.idx_splits(path)
        train, chosen = own_sets.resized_split(path, train, size)
        if test is not None:
            test, _ = own_sets.resized_split(path, test, chosen)
    return own_sets.as_domain(domain, path, train, test, style=style, seed=seed)


def at_size(arrays: DomainArrays, size: int | None) -> DomainArrays:
    """A rendered domain at another size (its images only: colours and indices stay)."""
    if size is None or size == arrays.size:
        return arrays
    own_sets.check_memory(Path(arrays.domain), len(arrays.x_train), size, arrays.channels)

    def resized(images: np.ndarray) -> np.ndarray:
        return np.stack([own_sets.square(image, size) for image in images])

    return replace(arrays, x_train=resized(arrays.x_train), x_test=resized(arrays.x_test))


def both_sides(
    data: tuple[str | None, str | None],
    domains: tuple[str, str],
    *,
    style: str,
    seed: int,
    size: int | None,
) -> tuple[DomainArrays, DomainArrays]:
    """Both sides at one size: `size`, or their own where they share it."""
    check_two_sets(data, domains)
    arrays = [
        read_side(spec, domain, side, style=style, seed=seed + offset, size=size)
        for offset, (spec, domain, side) in enumerate(zip(data, domains, "ab", strict=True))
    ]
    if arrays[0].size != arrays[1].size:
        raise MnistganError(
            f"{data[0] or domains[0]} holds {arrays[0].size}-pixel images, "
            f"{data[1] or domains[1]} {arrays[1].size}-pixel ones: choose one --size "
            f"({MIN_SIZE} to {MAX_SIZE}, a multiple of 4)"
        )
    return arrays[0], arrays[1]
