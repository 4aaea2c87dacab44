"""Reading array files safely: the members of an .npz and IDX files, each checked against the
size it promises before anything is allocated for it (a forged header cannot fill the memory)."""

from __future__ import annotations

import gzip
import math
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_cyclegan.errors import MnistganError

MAX_ARRAY_BYTES = 1 << 30  # 70,000 RGB digits are 165 MB; refuse what no image set we read needs
READ_CHUNK = 16 << 20  # bytes decompressed at a time: the most a read holds beside its array


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
    """The arrays `keys` of an .npz, read lazily: other members are never decompressed, and
    every member's size is checked from the zip directory and its .npy header, each and all
    together against MAX_ARRAY_BYTES, before any is read."""
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
            headers = {key: _member_header(archive, members[key], path) for key in keys}
            total = sum(header.size for header in headers.values())
            if total > MAX_ARRAY_BYTES:
                raise MnistganError(
                    f"{path}: its arrays hold {total >> 20:,} MB together, over "
                    f"{MAX_ARRAY_BYTES >> 20:,} MB"
                )
            return {key: _read_member(archive, members[key], headers[key], path) for key in keys}
    except MnistganError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
        raise MnistganError(f"{path}: cannot read as .npz ({short(error)})") from None


@dataclass(frozen=True)
class MemberHeader:
    """What an .npy member's header promises: enough to allocate it, and no more."""

    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    offset: int  # bytes of the header: the data starts there

    @property
    def size(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python integers: no overflow


def _member_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> MemberHeader:
    """One .npy member's header: a plain dtype, and a size within the member's own."""
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
        offset = member.tell()
    if dtype.hasobject or dtype.itemsize == 0:
        raise MnistganError(f"{path}: {name} holds {dtype} values, not plain numbers")
    header = MemberHeader(tuple(shape), fortran, dtype, offset)
    if header.size > info.file_size - offset:
        raise MnistganError(f"{path}: {name} promises {header.size} bytes, holds less")
    return header


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: MemberHeader, path: Path
) -> np.ndarray:
    """One member's data, decompressed straight into the array in slices of READ_CHUNK bytes:
    a zip member's own `readinto` reads the whole member into a temporary first."""
    array = np.empty(header.shape, dtype=header.dtype, order="F" if header.fortran else "C")
    target = memoryview(array.reshape(-1, order="A").view(np.uint8))
    with archive.open(info) as member:
        member.read(header.offset)
        filled = 0
        while filled < header.size:
            piece = member.read(min(READ_CHUNK, header.size - filled))
            if not piece:
                break
            target[filled : filled + len(piece)] = piece
            filled += len(piece)
        if filled != header.size or member.read(1):
            raise MnistganError(
                f"{path}: {info.filename} does not hold the {header.size} bytes it promises"
            )
    return array


def read_idx_files(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """IDX files (the format MNIST ships in: a magic number, the shape, then uint8 data) by
    name. Every header is read first, and the sizes they promise are checked one by one and
    together against MAX_ARRAY_BYTES before any data is; then each is read as a stream (a .gz
    decompressed only as far as its header promises) into its array, with no second copy."""
    shapes = {key: _guarded(path, _idx_shape) for key, path in paths.items()}
    total = sum(math.prod(shape) for shape in shapes.values())
    if total > MAX_ARRAY_BYTES:
        folder = next(iter(paths.values())).parent
        raise MnistganError(
            f"{folder}: its IDX headers promise {total >> 20:,} MB together, over "
            f"{MAX_ARRAY_BYTES >> 20:,} MB"
        )
    return {
        key: _guarded(path, lambda handle, p, s=shapes[key]: _idx_data(handle, p, s))
        for key, path in paths.items()
    }


def _guarded(path: Path, read):
    """read(handle, path) on the opened file, any failure of the file one line naming it."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(regular_file(path), "rb") as handle:
            return read(handle, path)
    except MnistganError:
        raise
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise MnistganError(f"{path}: cannot read ({short(error)})") from None


def _idx_shape(handle, path: Path) -> tuple[int, ...]:
    magic = handle.read(4)
    if len(magic) < 4 or magic[:3] != b"\x00\x00\x08":
        raise MnistganError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = magic[3]
    raw_shape = handle.read(4 * ndim)
    if not 1 <= ndim <= 4 or len(raw_shape) < 4 * ndim:
        raise MnistganError(f"{path}: bad IDX header ({ndim} dimensions)")
    shape = tuple(int.from_bytes(raw_shape[4 * i : 4 * i + 4], "big") for i in range(ndim))
    if math.prod(shape) > MAX_ARRAY_BYTES:  # Python integers: no overflow
        raise MnistganError(f"{path}: IDX header promises {math.prod(shape)} bytes, over the limit")
    return shape


def _idx_data(handle, path: Path, shape: tuple[int, ...]) -> np.ndarray:
    handle.read(4 + 4 * len(shape))  # the header, read and checked before
    expected = math.prod(shape)
    array = np.empty(shape, dtype=np.uint8)
    target = memoryview(array.reshape(-1))
    filled = 0
    while filled < expected:
        got = handle.readinto(target[filled : filled + READ_CHUNK])
        if not got:
            break
        filled += got
    if filled != expected or handle.read(1):
        raise MnistganError(
            f"{path}: IDX header promises {expected} bytes of data, file has {filled}"
            + ("" if filled < expected else " or more")
        )
    return array


def short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
