"""Safetensors files with JSON metadata: how every file of ours is written and read safely.

Nothing here unpickles, and nothing is allocated for a file before its header has been checked:
the 8-byte header length, then the JSON header against a strict schema (each tensor's dtype,
shape and byte range, the ranges tiling the data exactly), then our metadata (strict JSON, no
NaN or infinity). Callers compare the tensors' shapes with what they expect (`TensorFile.check`)
before `TensorFile.load` reads a byte of tensor data.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mnist_cyclegan.atomic import write_atomic
from mnist_cyclegan.errors import MnistganError

FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 8 * 1024 * 1024  # ours hold at most a few thousand entries: ~0.5 MB
MAX_ENTRIES = 100_000
DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


@dataclass(frozen=True)
class TensorEntry:
    """What the header says of one tensor; as an expectation, a dtype or a dimension of None
    fits any."""

    dtype: torch.dtype | None
    shape: tuple[int | None, ...]

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorEntry:
        return cls(tensor.dtype, tuple(tensor.shape))

    def fits(self, expected: TensorEntry) -> bool:
        return (
            expected.dtype in (None, self.dtype)
            and len(self.shape) == len(expected.shape)
            and all(e is None or s == e for s, e in zip(self.shape, expected.shape, strict=True))
        )

    def describe(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{str(self.dtype).removeprefix('torch.')} [{dims}]"


@dataclass(frozen=True)
class TensorFile:
    """A checked header: the tensors a file holds and its metadata, no tensor data yet."""

    path: Path
    entries: dict[str, TensorEntry]
    meta: dict

    def check(self, expected: dict[str, TensorEntry], optional: frozenset[str] = frozenset()):
        """Refuse the file unless it holds exactly the `expected` tensors (those in `optional`
        may be absent), each with its dtype and shape."""
        missing = sorted(set(expected) - set(self.entries) - optional)
        extra = sorted(set(self.entries) - set(expected))
        if missing or extra:
            what = f"missing {missing[0]}" if missing else f"unexpected tensor {extra[0]}"
            raise MnistganError(f"{self.path}: does not fit its settings ({what})")
        for name, entry in self.entries.items():
            if not entry.fits(expected[name]):
                raise MnistganError(
                    f"{self.path}: {name} is {entry.describe()}, its settings need "
                    f"{expected[name].describe()}"
                )

    def load(self) -> dict[str, torch.Tensor]:
        try:
            return load_file(str(self.path))
        except Exception as error:  # safetensors raises its own SafetensorError type
            raise MnistganError(f"{self.path}: unreadable ({first_line(error)})") from None


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:160] if lines else type(error).__name__


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], kind: str, meta: dict) -> None:
    """Write tensors plus JSON metadata atomically as one safetensors file."""
    metadata = {
        "format": kind,
        "format_version": FORMAT_VERSION,
        "meta": json.dumps(meta, sort_keys=True, allow_nan=False),
    }
    ready = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    write_atomic(path, lambda tmp: save_file(ready, str(tmp), metadata=metadata))


def strict_json(text: str | bytes):
    """JSON without NaN or infinity, and without nesting deep enough to exhaust the stack."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not allowed")

    try:
        return json.loads(text, parse_constant=refuse)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_header(path: Path) -> dict:
    """The safetensors JSON header, checked against the format's schema; no tensor is read."""
    path = Path(path)
    if not path.exists():
        raise MnistganError(f"{path}: no such file")
    if path.is_dir():
        raise MnistganError(f"{path}: is a folder, not a safetensors file")
    if not path.is_file():
        raise MnistganError(f"{path}: is not a regular file")
    size = path.stat().st_size
    if size < 8:
        raise MnistganError(f"{path}: not a safetensors file ({size} bytes, too short)")
    with open(path, "rb") as handle:
        (header_length,) = struct.unpack("<Q", handle.read(8))
        if header_length > MAX_HEADER_BYTES or header_length > size - 8:
            raise MnistganError(
                f"{path}: not a safetensors file (header claims {header_length} bytes, "
                f"file has {size})"
            )
        raw = handle.read(header_length)
    try:
        header = strict_json(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("not a JSON object")
        check_entries(header, size - 8 - header_length)
    except (UnicodeDecodeError, ValueError, TypeError) as error:
        raise MnistganError(f"{path}: not a valid safetensors file ({error})") from None
    return header


def check_entries(header: dict, data_bytes: int) -> None:
    """Every entry a tensor of a known dtype whose byte range fits its shape, the ranges
    tiling the data exactly; `__metadata__` a map of strings."""
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ is not a map of strings")
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    if len(entries) > MAX_ENTRIES:
        raise ValueError(f"{len(entries)} tensors")
    ranges = sorted(entry_range(name, entry) for name, entry in entries.items())
    position = 0
    for begin, end in ranges:
        if begin != position:
            raise ValueError("tensor data overlaps or leaves a gap")
        position = end
    if position > data_bytes:
        raise ValueError(f"truncated: its tensors need {position} bytes, it holds {data_bytes}")
    if position != data_bytes:
        raise ValueError(f"its tensors cover {position} bytes of the {data_bytes} it holds")


def entry_range(name: str, entry: object) -> tuple[int, int]:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(f"{name}: not a tensor entry")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise ValueError(f"{name}: unknown dtype {str(dtype)[:20]}")
    if not (isinstance(shape, list) and len(shape) <= 8 and all(is_count(d) for d in shape)):
        raise ValueError(f"{name}: bad shape")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(is_count, offsets))):
        raise ValueError(f"{name}: bad data_offsets")
    begin, end = offsets
    itemsize = torch.empty((), dtype=DTYPES[dtype]).element_size()
    if end - begin != math.prod(shape) * itemsize:
        raise ValueError(f"{name}: {end - begin} bytes for shape {shape}")
    return begin, end


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def open_tensor_file(path: Path, kind: str) -> TensorFile:
    """The checked header of one of our files of `kind` (refusing other files)."""
    header = read_header(path)
    metadata = header.get("__metadata__", {})
    if metadata.get("format") != kind:
        found = metadata.get("format", "no mnistgan metadata")
        raise MnistganError(f"{path}: not an {kind} file ({found[:40]})")
    try:
        meta = strict_json(metadata["meta"])
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (KeyError, ValueError) as error:
        raise MnistganError(f"{path}: metadata unreadable ({first_line(error)})") from None
    entries = {
        name: TensorEntry(DTYPES[entry["dtype"]], tuple(entry["shape"]))
        for name, entry in header.items()
        if name != "__metadata__"
    }
    return TensorFile(Path(path), entries, meta)
