"""Large images translated in overlapping tiles, so memory stays bounded whatever the image.

A generator's memory grows with its width times the pixels it holds at full resolution (a
4096 × 4096 image through a 16-wide model: 1 GB a layer). Its output at a pixel depends only on
the input within its receptive field, `receptive_margin` pixels each way, and, for the
additions, on statistics of the whole image (its median, its frame's colour, its strongest
figure pixel, the palette picked by a hash of it: figures.WholeImage). So a large image is cut
into tiles of at most `tile_side` pixels a side, each grown by the margin on every side, each
translated with its whole image's statistics and palette, and only its core kept: the cores
join into the translation of the whole image (tests/test_tiles.py holds them to it). Tiles
start on multiples of 4, where the generator's two stride-2 convolutions sample the whole
image, so every tile sees the grid the whole image would.

Batch norm in eval mode is per pixel, so tiles are exact; instance norm normalises over the
whole image and cannot be tiled: a model with it translates whole, up to MAX_WHOLE_ACTIVATIONS.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.figures import WholeImage
from mnist_cyclegan.settings.schema import NetSettings
from mnist_cyclegan.variants.generator import GeneratorWithAdditions

# Full-resolution values a tile's widest layer holds (channels × pixels): 2^24 floats are
# 64 MB, and a forward pass holds a few such tensors at once (BENCHMARKS.md, "Memory").
TILE_ACTIVATIONS = 1 << 24
MAX_WHOLE_ACTIVATIONS = 1 << 26  # the same for a model that cannot be tiled: 256 MB a layer


def receptive_margin(settings: NetSettings) -> int:
    """Pixels each way that the generator's output at a pixel reads, rounded up to a
    multiple of 4: 3 (7×7 stem) + 1 + 2 (two stride-2 3×3 convs) + 8 per residual block (two
    3×3 convs at a quarter of the resolution) + 4 + 2 (two transposed convs) + 3 (7×7 out)."""
    margin = 15 + 8 * settings.res_blocks
    return -(-margin // 4) * 4


def tile_side(settings: NetSettings) -> int:
    """The core side of a tile (a multiple of 4): as large as TILE_ACTIVATIONS allows at the
    model's width once the margins are added, and at least 64."""
    grown = math.isqrt(TILE_ACTIVATIONS // settings.gen_width)
    return max(64, (grown - 2 * receptive_margin(settings)) // 4 * 4)


def needs_tiles(x: torch.Tensor, settings: NetSettings) -> bool:
    side = tile_side(settings) + 2 * receptive_margin(settings)
    return x.shape[-2] * x.shape[-1] > side * side


def translate_large(
    generator: nn.Module, x: torch.Tensor, palette: torch.Tensor | None, settings: NetSettings
) -> torch.Tensor:
    """generator(x, palette) for model values N×C×H×W with H and W multiples of 4, one image at
    a time and in tiles where the image is large."""
    if not needs_tiles(x, settings):
        return generator(x) if palette is None else generator(x, palette)
    if settings.norm != "batch":
        check_whole(*x.shape[-2:], settings, "the image")
        return generator(x) if palette is None else generator(x, palette)
    outputs = [
        tiled(generator, x[i : i + 1], None if palette is None else palette[i : i + 1], settings)
        for i in range(len(x))
    ]
    return torch.cat(outputs)


def check_whole(height: int, width: int, settings: NetSettings, name: str) -> None:
    """Refuse an image (`name` in the message) too large for a model that cannot be tiled."""
    if settings.norm != "batch" and settings.gen_width * height * width > MAX_WHOLE_ACTIVATIONS:
        most = math.isqrt(MAX_WHOLE_ACTIVATIONS // settings.gen_width)
        raise MnistganError(
            f"{name}: {width}×{height} pixels, too many for this {settings.norm}-norm model, "
            f"which cannot translate in tiles (at most about {most}×{most})"
        )


def tiled(
    generator: nn.Module, x: torch.Tensor, palette: torch.Tensor | None, settings: NetSettings
) -> torch.Tensor:
    """One image (1×C×H×W) through the generator tile by tile."""
    run = tile_runner(generator, x, palette)
    height, width = x.shape[-2:]
    core, margin = tile_side(settings), receptive_margin(settings)
    output = None
    for top in range(0, height, core):
        for left in range(0, width, core):
            rows = slice(max(0, top - margin), min(height, top + core + margin))
            cols = slice(max(0, left - margin), min(width, left + core + margin))
            y = run(x[..., rows, cols])
            if output is None:
                output = y.new_empty((1, y.shape[1], height, width))
            keep_rows, keep_cols = min(core, height - top), min(core, width - left)
            inner_top, inner_left = top - rows.start, left - cols.start
            output[..., top : top + keep_rows, left : left + keep_cols] = y[
                ..., inner_top : inner_top + keep_rows, inner_left : inner_left + keep_cols
            ]
    return output


def tile_runner(generator: nn.Module, x: torch.Tensor, palette: torch.Tensor | None):
    """A function of a tile: the generator given the whole image's statistics and palette.
    The reference's generator reads no whole-image statistic and takes none."""
    if not isinstance(generator, GeneratorWithAdditions):
        return generator
    whole = WholeImage.of(x)
    picked = generator.palette_for(x, palette)
    return lambda tile: generator(tile, picked, whole)
