"""Reading array files safely: the members of an .npz and IDX files, each checked against the
size it promises before anything is allocated for it (a forged header cannot fill the memory)."""

from __future__ import annotations

import gzip
import math
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnist_cyclegan.errors import MnistganError

MAX_ARRAY_BYTES = 1 << 30  # 70,000 RGB digits are 165 MB; refuse what no image set we read needs


def regular_file(path: Path) -> Path:
    """`path` if it (or what its link leads to) is a plain file: a pipe named as a data file
    would make a read wait forever, and a device (a link to /dev/zero) would read without end."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        why = "a link to nothing" if path.is_symlink() else error.strerror
        raise MnistganError(f"{path}: cannot read ({why})") from None
    if not stat.S_ISREG(mode):
        kinds = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a pipe", stat.S_ISSOCK: "a socket"}
        kind = next((name for test, name in kinds.items() if test(mode)), "a device")
        raise MnistganError(f"{path}: not a regular file ({kind})")
    return path


def npz_members(path: Path) -> set[str]:
    """The array names an .npz holds, read from its zip directory alone."""
    try:
        with zipfile.ZipFile(regular_file(path)) as archive:
            return {
                info.filename[: -len(".npy")]
                for info in archive.infolist()
                if info.filename.endswith(".npy")
            }
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise MnistganError(f"{path}: cannot read as .npz ({short(error)})") from None


def read_npz(
    path: Path, keys: tuple[str, ...], kind: str = "an MNIST-style .npz"
) -> dict[str, np.ndarray]:
    """The arrays `keys` of an .npz, read lazily: other members are never decompressed, and a
    member's size is checked from the zip directory and its .npy header before it is read."""
    try:
        with zipfile.ZipFile(regular_file(path)) as archive:
            members = {
                info.filename[: -len(".npy")]: info
                for info in archive.infolist()
                if info.filename.endswith(".npy")
            }
            missing = [key for key in keys if key not in members]
            if missing:
                raise MnistganError(f"{path}: not {kind} (missing {missing[0]})")
            return {key: _read_member(archive, members[key], path) for key in keys}
    except MnistganError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
        raise MnistganError(f"{path}: cannot read as .npz ({short(error)})") from None


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


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (the format MNIST ships in): a magic number, the shape, then uint8 data.
    Read as a stream (a .gz is decompressed only as far as the header promises), with the
    size the header promises checked before it is read."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(regular_file(path), "rb") as handle:
            return _read_idx_stream(handle, path)
    except MnistganError:
        raise
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise MnistganError(f"{path}: cannot read ({short(error)})") from None


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


def short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
