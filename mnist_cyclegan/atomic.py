"""Atomic file writes that touch nothing but our own temporary files.

Every output goes to a temporary file in the same folder (same filesystem, so the rename is
atomic), is flushed to disk, and only then replaces the target; the folder is synced after
the rename. A temporary file's name carries the writing process's id
(`.NAME.mnistgan-PID-RANDOM.tmp`), so a later run removes only temporaries of ours whose
process is gone, never a user's `.something.tmp` nor one a running process is still writing.

`Staged` writes a set of files as one: all go to temporaries first, and only when every one is
complete are they renamed into place, with Ctrl-C and SIGTERM held back meanwhile, so an
interrupted command leaves all of the set or none of it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from mnist_cyclegan.errors import MnistganError

TEMPORARY = re.compile(r"^\..+\.mnistgan-(\d+)-[A-Za-z0-9_]+\.tmp$")
HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_cleaned: set[Path] = set()  # folders whose stale temporaries this process has removed


def new_temporary(path: Path) -> Path:
    """A fresh, empty temporary file next to `path`, named as ours. The first time a process
    writes into a folder, it removes the temporaries our killed processes left there."""
    folder = path.parent if str(path.parent) else Path(".")
    if folder.resolve() not in _cleaned:
        remove_stale_temporaries(folder)
        _cleaned.add(folder.resolve())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        prefix = f".{path.name}.mnistgan-{os.getpid()}-"
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    except OSError as error:
        raise MnistganError(f"{path}: cannot write here ({error.strerror or error})") from None
    os.close(handle)
    return Path(name)


def finish(tmp: Path, path: Path) -> None:
    """Give `tmp` the permissions any new file gets, flush it to disk, rename it onto `path`,
    and sync the folder so the rename survives a crash."""
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp, and some writers, make 0600
    with open(tmp, "rb+") as written:
        os.fsync(written.fileno())
    os.replace(tmp, path)
    sync_folder(path.parent if str(path.parent) else Path("."))


def sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


@contextlib.contextmanager
def temporary_sibling(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary path next to `path`; rename it onto `path` if the body succeeds."""
    path = Path(path)
    tmp = new_temporary(path)
    try:
        yield tmp
        finish(tmp, path)
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


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the body is done (a set of renames is never cut short)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Staged:
    """A set of files written as one: each `write` goes to a temporary at once (so what is
    held in memory stays small), and only when the `with` block ends without an error are all
    renamed into place, with Ctrl-C and SIGTERM held back meanwhile. On an error or an
    interrupt every temporary is removed: all of the set, or none of it."""

    def __init__(self) -> None:
        self.temporaries: list[tuple[Path, Path]] = []

    def write(self, path: Path, write: Callable[[Path], None]) -> None:
        tmp = new_temporary(Path(path))
        self.temporaries.append((tmp, Path(path)))
        try:
            write(tmp)
        except OSError as error:
            raise MnistganError(f"{path}: cannot write ({error.strerror or error})") from None

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                with signals_held():
                    for tmp, path in self.temporaries:
                        finish(tmp, path)
        except OSError as failure:
            raise MnistganError(
                f"cannot write the outputs ({failure.strerror or failure})"
            ) from None
        finally:
            for tmp, _ in self.temporaries:
                tmp.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process, or not a pid at all
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove, from `folder` alone (not below it), temporaries of ours whose process is gone."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in Path(folder).iterdir():
            match = TEMPORARY.match(entry.name)
            if match and entry.is_file() and not process_alive(int(match.group(1))):
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed
