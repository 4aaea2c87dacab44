"""Forged and damaged files for the hostile-input tests: safetensors headers written by hand,
npz and IDX files of the wrong shapes, folders hashed before and after."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np

from mnist_cyclegan.tensor_files import read_header


def snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below `folder`, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


def unchanged(folder: Path, before: dict[str, str]) -> list[str]:
    """Files that existed before and differ or are gone now."""
    after = snapshot(folder)
    return [name for name, digest in before.items() if after.get(name) != digest]


def split_safetensors(path: Path) -> tuple[dict, bytes]:
    raw = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def write_safetensors(path: Path, header: object, data: bytes, raw_header: bytes | None = None):
    """A safetensors file with exactly this header (valid or not) and data."""
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + data)


def with_meta(path: Path, out: Path, change) -> Path:
    """A copy of one of our files whose JSON metadata `change(meta)` edited in place."""
    header, data = split_safetensors(path)
    meta = json.loads(header["__metadata__"]["meta"])
    change(meta)
    header["__metadata__"]["meta"] = json.dumps(meta)
    write_safetensors(out, header, data)
    return out


def with_header(path: Path, out: Path, change) -> Path:
    """A copy whose whole header `change(header)` edited (offsets left as they were)."""
    header, data = split_safetensors(path)
    change(header)
    write_safetensors(out, header, data)
    return out


def replace_tensors(path: Path, out: Path, replace: dict[str, np.ndarray | None]) -> Path:
    """A copy with some tensors replaced (None: removed) and the header rebuilt consistently,
    metadata kept: a file that is valid safetensors but wrong for its settings."""
    import torch
    from safetensors.torch import load_file, save_file

    header = read_header(path)
    tensors = load_file(str(path))
    for name, value in replace.items():
        if value is None:
            tensors.pop(name, None)
        else:
            tensors[name] = torch.from_numpy(value)
    save_file(tensors, str(out), metadata=header["__metadata__"])
    return out


def npz_bytes(arrays: dict[str, np.ndarray], compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def mnist_like(count: int = 40, size: int = 28, channels: int | None = None) -> dict:
    """A small MNIST-style set of `count` real-looking digits per split."""
    rng = np.random.default_rng(0)
    shape = (count, size, size) if channels is None else (count, size, size, channels)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    return {"x_train": images, "y_train": labels, "x_test": images[:10], "y_test": labels[:10]}


def corrupt_deflate(data: bytes) -> bytes:
    """An npz whose first member's compressed bytes are scrambled (the directory kept)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    broken = bytearray(data)
    for i in range(start + 4, min(start + 64, start + info.compress_size)):
        broken[i] ^= 0x5A
    return bytes(broken)


def idx_bytes(shape: tuple[int, ...], data: bytes) -> bytes:
    header = bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    return header + data


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data)
