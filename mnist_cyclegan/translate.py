"""`translate`: apply trained generators to users' image files of any size and mode.

Two passes. The first decodes and checks every input and plans every output, refusing an
output that is an input (or the weights, or another output's name, or an existing file without
`--force`), so one bad file leaves everything as it was. The second translates in batches of at
most PIXEL_BUDGET pixels (a single larger image goes alone), decoding each batch's images again
so memory stays bounded, and writes every result to a temporary; all are renamed into place at
the end, so an interrupted run leaves no partial set. Images are reflect-padded to a multiple
of 4 (the generator halves the size twice) and cropped back: outputs have their input's size.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_cyclegan.api import Translator
from mnist_cyclegan.atomic import Staged
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.images import png_writer
from mnist_cyclegan.outputs import identity, same_file
from mnist_cyclegan.tiles import check_whole
from mnist_cyclegan.user_images import ImageInfo, expand_inputs, inspect, read_image
from mnist_cyclegan.weights import WeightsMeta

PIXEL_BUDGET = 1 << 18  # pixels per batch: 334 digits of 28×28, or one 512×512 image


@dataclass(frozen=True)
class Plan:
    """One input's translation: which way, and where its output (and round trip) go."""

    info: ImageInfo
    direction: str  # a2b or b2a
    target: Path
    cycle_target: Path | None

    def targets(self) -> list[Path]:
        return [self.target] + ([self.cycle_target] if self.cycle_target else [])


def choose_direction(meta: WeightsMeta, channels: int, direction: str | None, source: Path) -> str:
    """a2b or b2a: what the user asked, else the side whose channel count the input has."""
    if direction is not None:
        if direction not in ("a2b", "b2a"):
            raise MnistganError(f"--direction {direction}: choose a2b or b2a")
        return direction
    channels_a, channels_b = meta.channels_a, meta.channels_b
    if channels_a == channels_b:
        raise MnistganError(
            f"{source}: both sides of this model ({meta.domain_a}, {meta.domain_b}) take "
            f"{channels_a}-channel images; say --direction a2b or b2a"
        )
    return "a2b" if channels == channels_a else "b2a"


def plan_outputs(
    infos: list[ImageInfo],
    meta: WeightsMeta,
    output: Path,
    *,
    folder_mode: bool,
    direction: str | None,
    cycle: bool,
) -> list[Plan]:
    plans = []
    for info in infos:
        check_whole(info.height, info.width, meta.net, str(info.source))
        way = choose_direction(meta, info.channels, direction, info.source)
        target = output / f"{info.source.stem}.png" if folder_mode else output
        round_trip = target.with_name(f"{target.stem}.cycle.png") if cycle else None
        plans.append(Plan(info, way, target, round_trip))
    return plans


def check_targets(plans: list[Plan], protected: list[Path], *, force: bool) -> None:
    """No output replaces an input or the weights, none is written twice, and none replaces an
    existing file unless `force` says so."""
    targets = [target for plan in plans for target in plan.targets()]
    counts = Counter(target.resolve() for target in targets)
    kept = {identity(path) for path in protected} - {None}
    for plan in plans:
        for target in plan.targets():
            if counts[target.resolve()] > 1:
                raise MnistganError(
                    f"{target}: two outputs would get this name ({plan.info.source.name} and "
                    "another input with the same stem); rename one of them"
                )
            if identity(target) in kept:
                raise MnistganError(f"{target}: is one of the inputs; choose another output")
            if target.is_dir():
                raise MnistganError(f"{target}: is a folder")
            if target.exists() and not force:
                raise MnistganError(f"{target}: already exists (use --force to overwrite)")


def check_output_kind(output: Path, files: list[Path], folder_mode: bool) -> None:
    if folder_mode and output.exists() and not output.is_dir():
        raise MnistganError(f"{output}: exists and is not a folder (several inputs need a folder)")
    if not folder_mode and output.is_dir():
        raise MnistganError(f"{output}: is a folder; give an output file name")
    if folder_mode and any(same_file(output, path.parent) for path in files):
        raise MnistganError(f"{output}: is the inputs' own folder; choose another output folder")


def batches(plans: list[Plan], budget: int | None = None) -> Iterator[list[Plan]]:
    """Plans of the same direction, image size and channels, at most `budget` (PIXEL_BUDGET)
    pixels a batch; a larger image goes alone."""
    budget = PIXEL_BUDGET if budget is None else budget
    groups: dict[tuple, list[Plan]] = {}
    for plan in plans:
        key = (plan.direction, plan.info.height, plan.info.width, plan.info.channels)
        groups.setdefault(key, []).append(plan)
    for members in groups.values():
        size = max(1, budget // members[0].info.pixels)
        for start in range(0, len(members), size):
            yield members[start : start + size]


def translate_files(
    translator: Translator,
    inputs: str,
    output: Path,
    *,
    direction: str | None,
    cycle: bool,
    force: bool = False,
    protected: tuple[Path, ...] = (),
    color: str | None = None,
) -> dict:
    """Translate every input (checking all of them and every output first); `protected` are
    more files no output may replace (the weights); `color` paints a two-tone model's outputs
    (colour_request.py)."""
    started = time.perf_counter()
    files, folder_mode = expand_inputs(inputs)
    check_output_kind(output, files, folder_mode)
    infos = [inspect(path) for path in files]
    plans = plan_outputs(
        infos, translator.meta, output, folder_mode=folder_mode, direction=direction, cycle=cycle
    )
    check_targets(plans, [*files, *protected], force=force)
    check_colour(translator, plans, color)
    with Staged() as stage:
        for batch in batches(plans):
            write_batch(stage, batch, translator, color)
    return {
        "images": len(plans),
        "written": sum(len(plan.targets()) for plan in plans),
        "seconds": time.perf_counter() - started,
        "directions": sorted({plan.direction for plan in plans}),
    }


def reread(info: ImageInfo) -> np.ndarray:
    """An input decoded again for its batch, as the first pass saw it."""
    pixels = read_image(info.source)
    if pixels.shape[:2] != (info.height, info.width) or (pixels.ndim == 2) != (info.channels == 1):
        raise MnistganError(f"{info.source}: changed while it was being translated")
    return pixels


def check_colour(translator: Translator, plans: list[Plan], color: str | None) -> None:
    """Refuse, before any output, a colour some input's direction cannot paint."""
    for way in sorted({plan.direction for plan in plans}):
        try:
            translator.check_colour(way, color)
        except MnistganError as error:
            raise MnistganError(f"--color {color}: {error}") from None


def write_batch(
    stage: Staged, batch: list[Plan], translator: Translator, color: str | None = None
) -> None:
    way = batch[0].direction
    stack = np.stack([reread(plan.info) for plan in batch])
    translated = translator.translate_uint8(stack, way, color=color)
    round_trip = None
    if batch[0].cycle_target is not None:
        back = "b2a" if way == "a2b" else "a2b"
        round_trip = translator.translate_uint8(translated, back, colours_of=stack)
    for i, plan in enumerate(batch):
        stage.write(plan.target, png_writer(translated[i]))
        if round_trip is not None:
            stage.write(plan.cycle_target, png_writer(round_trip[i]))
