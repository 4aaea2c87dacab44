"""Atomic file writes: a crash or kill never leaves a half-written file under the final name.

Every output goes to a temporary file in the same folder (same filesystem, so the rename is
atomic), is flushed to disk, and only then replaces the target.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from mnist_cyclegan.errors import MnistganError


@contextlib.contextmanager
def temporary_sibling(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary path next to `path`; rename it onto `path` if the body succeeds."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise MnistganError(f"{path}: cannot write here ({error.strerror or error})") from None
    os.close(handle)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs should look like any other file
    try:
        yield tmp
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except OSError as error:
        raise MnistganError(f"{path}: cannot write ({error.strerror or error})") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` and move the result onto `path` only once it is complete."""
    with temporary_sibling(path) as tmp:
        write(tmp)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
