"""Safetensors files with JSON metadata: how every file of ours is written and read safely.

Nothing here unpickles. Before handing a file to safetensors we check its 8-byte header length
and JSON header ourselves, so an empty, truncated, random or pickled file gets a clear message.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mnist_cyclegan.atomic import write_atomic
from mnist_cyclegan.errors import MnistganError

FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 64 * 1024 * 1024


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], kind: str, meta: dict) -> None:
    """Write tensors plus JSON metadata atomically as one safetensors file."""
    metadata = {
        "format": kind,
        "format_version": FORMAT_VERSION,
        "meta": json.dumps(meta, sort_keys=True),
    }
    ready = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    write_atomic(path, lambda tmp: save_file(ready, str(tmp), metadata=metadata))


def read_header(path: Path) -> dict:
    """The safetensors JSON header, validated by hand before any tensor is read."""
    path = Path(path)
    if not path.exists():
        raise MnistganError(f"{path}: no such file")
    if path.is_dir():
        raise MnistganError(f"{path}: is a folder, not a safetensors file")
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
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MnistganError(f"{path}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise MnistganError(f"{path}: not a safetensors file (header is not a JSON object)")
    end = max(
        (entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"),
        default=0,
    )
    if 8 + header_length + end > size:
        raise MnistganError(
            f"{path}: truncated ({size} bytes, tensors need {8 + header_length + end})"
        )
    return header


def load_tensors(path: Path, kind: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of one of our files, refusing files of another kind."""
    header = read_header(path)
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != kind:
        found = metadata.get("format", "no mnistgan metadata")
        raise MnistganError(f"{path}: not an {kind} file ({found})")
    try:
        meta = json.loads(metadata["meta"])
        tensors = load_file(str(path))
    except (KeyError, ValueError, OSError, RuntimeError) as error:
        raise MnistganError(f"{path}: unreadable ({str(error).splitlines()[0]})") from None
    except Exception as error:  # safetensors raises its own SafetensorError type
        raise MnistganError(f"{path}: unreadable ({str(error).splitlines()[0]})") from None
    return tensors, meta
