"""A generator applied to uint8 images in batches, as every part of eval applies it."""

from __future__ import annotations

import numpy as np
import torch

from mnist_cyclegan.cyclegan.pixels import to_model, to_pixels
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.variants.two_tone import painted_like


@torch.no_grad()
def translate_batches(
    generator: torch.nn.Module,
    images: np.ndarray,
    output: str,
    device: torch.device,
    batch: int = 500,
    colours_of: np.ndarray | None = None,
) -> np.ndarray:
    """Apply a generator to uint8 images in batches; uint8 results of the target's shape. A
    two-tone generator paints in the colours of `colours_of` (a cycle's originals) if given."""
    results = []
    for start in range(0, len(images), batch):
        chunk = to_model(channels_first(images[start : start + batch]).to(device), output)
        originals = None
        if colours_of is not None:
            originals = to_model(
                channels_first(colours_of[start : start + batch]).to(device), output
            )
        results.append(to_pixels(painted_like(generator, chunk, originals), output))
    return np.concatenate(results)
