"""Models that ship with the package: listed by `mnistgan models`, loaded by name wherever a
weights path is accepted.

Each lives in `mnist_cyclegan/models/NAME/`: `weights.safetensors` (the generators, stored in
half precision), `README.md` (its model card) and `card.json` (the card's figures, which a
test re-measures).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mnist_cyclegan.errors import MnistganError


@dataclass(frozen=True)
class BundledModel:
    name: str
    folder: Path

    @property
    def weights(self) -> Path:
        return self.folder / "weights.safetensors"

    @property
    def card(self) -> dict:
        return json.loads((self.folder / "card.json").read_text(encoding="utf-8"))


def models_folder() -> Path:
    return Path(str(resources.files("mnist_cyclegan") / "models"))


def bundled_models() -> list[BundledModel]:
    folder = models_folder()
    if not folder.is_dir():
        return []
    return [
        BundledModel(path.name, path)
        for path in sorted(folder.iterdir())
        if (path / "weights.safetensors").is_file()
    ]


def resolve_weights(source: str | Path) -> Path:
    """A weights file that exists, else the bundled model of that name."""
    path = Path(source)
    if path.exists():
        return path
    for model in bundled_models():
        if model.name == str(source):
            return model.weights
    names = ", ".join(model.name for model in bundled_models()) or "none"
    raise MnistganError(f"{source}: no such file, nor a model that ships with mnistgan ({names})")
