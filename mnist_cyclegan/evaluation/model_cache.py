"""Eval's judges (digit classifiers, the domain check) as files: shipped with the package,
else cached under MNISTGAN_HOME (default ~/.cache/mnistgan) after training them once.

Training is seeded, so the cache only saves time; deleting it changes nothing. A cached file
that cannot be used (damaged, foreign) is trained again, with a warning.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from mnist_cyclegan.errors import MnistganError, MnistganWarning
from mnist_cyclegan.tensor_files import TensorEntry, open_tensor_file, save_tensors


def bundled_folder() -> Path:
    return Path(str(resources.files("mnist_cyclegan") / "classifiers"))


def cache_home() -> Path:
    return Path(os.environ.get("MNISTGAN_HOME", Path.home() / ".cache" / "mnistgan"))


def load_or_train(
    name: str,
    *,
    file_format: str,
    meta: dict,
    build: Callable[[], nn.Module],
    train: Callable[[], nn.Module],
    device: torch.device,
) -> nn.Module:
    """The model saved as `name` (bundled first, then cached), or `train()`'s, cached. `meta`
    is what the file must say of itself; `build` makes an empty model of the right shapes.

    Neither building nor training draws from the global random generators (training forks
    them; see `train_classifier`), so a run that loads a judge mid-way, as `train` does,
    draws the same numbers as one that does not, and resumes bit for bit."""
    bundled = bundled_folder() / name
    if bundled.is_file():
        return read_model(bundled, file_format, meta, quietly(build)).to(device).eval()
    path = cache_home() / name
    if path.exists():
        try:
            return read_model(path, file_format, meta, quietly(build)).to(device).eval()
        except MnistganError as error:
            warnings.warn(f"{error}; training it again", MnistganWarning, stacklevel=2)
    check_writable(cache_home())
    model = quietly(train)
    save_tensors(path, model.state_dict(), file_format, meta)
    return model.to(device).eval()


def quietly(make: Callable[[], nn.Module]) -> nn.Module:
    """`make()` with the global random generators as they were before it."""
    with torch.random.fork_rng(devices=[]):
        return make()


def read_model(path: Path, file_format: str, meta: dict, model: nn.Module) -> nn.Module:
    """`model` with the tensors of `path`, each checked for name and shape before loading (the
    bundled ones are stored in half precision)."""
    file = open_tensor_file(path, file_format)
    if any(file.meta.get(key) != value for key, value in meta.items()):
        raise MnistganError(f"{path}: a model for other images")
    expected = {key: TensorEntry(None, tuple(v.shape)) for key, v in model.state_dict().items()}
    file.check(expected)
    if any(entry.dtype not in (torch.float32, torch.float16) for entry in file.entries.values()):
        raise MnistganError(f"{path}: a model stored in other number types")
    model.load_state_dict(file.load())
    return model


def check_writable(folder: Path) -> None:
    """Fail now, before minutes of training, if the cache cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise MnistganError(
            f"{folder}: the classifier cache is not writable ({error.strerror or error}); "
            "set MNISTGAN_HOME to a folder that is"
        ) from None
