"""The demo's translations: one input digit shown in every domain the loaded models reach.

Each model whose one side is the input's domain translates the input directly. A model with
neither side there (colored-background ↔ colored-digit, for a drawn mnist digit) translates
the first direct output that lies on one of its sides, so every bundled model shows its work.
A colour asked for paints every output whose generator takes a palette (colour_request.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnist_cyclegan.api import Translator
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.pretrained import bundled_models, resolve_weights

PROBE_COLOUR = "#808080"  # any colour: asking whether a direction takes one


@dataclass(frozen=True)
class Output:
    model: str
    source: str  # the domain translated from
    target: str
    via: str | None  # the domain of an intermediate output, for a chained translation
    pixels: np.ndarray  # uint8 H×W or H×W×3
    colourable: bool


@dataclass
class LoadedModel:
    name: str
    translator: Translator

    @property
    def sides(self) -> tuple[str, str]:
        return self.translator.meta.domain_a, self.translator.meta.domain_b

    @property
    def side(self) -> int:
        """The side, in pixels, of the images the model was trained on."""
        settings = self.translator.meta.settings
        return (settings.size if settings is not None else None) or 28

    def takes_colour(self, direction: str) -> bool:
        try:
            self.translator.check_colour(direction, PROBE_COLOUR)
        except MnistganError:
            return False
        return True

    def describe(self) -> dict:
        a, b = self.sides
        colour = {direction: self.takes_colour(direction) for direction in ("a2b", "b2a")}
        return {"name": self.name, "domain_a": a, "domain_b": b, "side": self.side,
                "colour": colour}  # fmt: skip


def load_models(weights: str | None, device: torch.device) -> list[LoadedModel]:
    """Every bundled model, or the one weights file (or bundled name) given."""
    if weights is not None:
        path = resolve_weights(weights)
        return [LoadedModel(str(weights), Translator.load(path, device))]
    models = [LoadedModel(m.name, Translator.load(m.weights, device)) for m in bundled_models()]
    if not models:
        raise MnistganError("no model ships with this installation: give --weights")
    return models


def domains(models: list[LoadedModel]) -> list[str]:
    return sorted({side for model in models for side in model.sides})


def translate_everywhere(
    models: list[LoadedModel], digit: np.ndarray, domain: str, colour: str | None
) -> list[Output]:
    """`digit` (uint8, in `domain`) through every model that reaches it, directly or via
    another model's output."""
    if domain not in domains(models):
        raise MnistganError(f"domain {domain!r}: choose one of {', '.join(domains(models))}")
    outputs, known = [], {domain: digit}
    direct = [m for m in models if domain in m.sides]
    chained = [m for m in models if domain not in m.sides]
    for model in direct:
        outputs.append(translated(model, digit, domain, None, colour))
        known.setdefault(outputs[-1].target, outputs[-1].pixels)
    for model in chained:
        source = next((side for side in model.sides if side in known), None)
        if source is not None:
            outputs.append(translated(model, known[source], source, source, colour))
    return outputs


def translated(
    model: LoadedModel, pixels: np.ndarray, source: str, via: str | None, colour: str | None
) -> Output:
    a, b = model.sides
    direction = "a2b" if source == a else "b2a"
    target = b if direction == "a2b" else a
    colourable = model.takes_colour(direction)
    paint = colour if colourable else None
    out = model.translator.translate_uint8(pixels[None], direction, color=paint)[0]
    return Output(model.name, source, target, via, out, colourable)
