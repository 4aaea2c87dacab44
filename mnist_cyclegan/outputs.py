"""Outputs never replace inputs or each other: the checks every command makes before writing."""

from __future__ import annotations

import os
from pathlib import Path

from mnist_cyclegan.errors import MnistganError


def same_file(a: Path, b: Path) -> bool:
    """True when `a` and `b` name one file (through symbolic or hard links too)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, which two names of one file share; None if none."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def check_outputs(outputs: list[Path | None], inputs: list[Path | None], *, force: bool) -> None:
    """Each output a new name: not an input, not another output, not a folder, and not an
    existing file unless `force`."""
    given = [Path(path) for path in outputs if path is not None]
    kept = [Path(path) for path in inputs if path is not None]
    for i, target in enumerate(given):
        if any(same_file(target, path) for path in kept):
            raise MnistganError(f"{target}: is an input of this command; choose another output")
        if any(same_file(target, other) for other in given[:i]):
            raise MnistganError(f"{target}: given for two outputs; choose two names")
        if target.is_dir():
            raise MnistganError(f"{target}: is a folder, not a file name")
        if target.exists() and not force:
            raise MnistganError(f"{target}: already exists (use --force to overwrite)")
