"""Where an image's figure is, whatever colours its domain paints it in: background estimates
and figure maps, in one place for the variants, the watch and the judges that read them.

Every domain this tool renders is a figure over a flat background that covers most of the image
(a digit covers under a fifth of an MNIST image, and sits in a 20×20 box inside 28×28), so a
per-channel median is the background's colour: over the whole image, or over its outer frame
alone. A pixel's distance from that colour, scaled by the image's strongest, is the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

RING = 2  # the width of the frame `frame_median` reads the background colour from
FIGURE_FLOOR = 0.1  # an image whose strongest figure pixel is fainter than this is all paper


def channel_median(pixels: torch.Tensor) -> torch.Tensor:
    """The (lower) median of N×C×P values over P, N×C."""
    if torch.onnx.is_in_onnx_export():  # ONNX has no median: the same one, by sorting
        return pixels.sort(dim=2).values[..., (pixels.shape[2] - 1) // 2]
    return pixels.median(dim=2).values


def image_median(images: torch.Tensor) -> torch.Tensor:
    """Each image's per-channel median over all its pixels, N×C."""
    return channel_median(images.flatten(2))


def border(images: torch.Tensor) -> torch.Tensor:
    """The pixels of each image's outer frame, N×C×P (all of them for a tiny image)."""
    height, width = images.shape[-2:]
    if min(height, width) <= 2 * RING:
        return images.flatten(2)
    top_bottom = torch.cat([images[..., :RING, :], images[..., -RING:, :]], dim=-2)
    sides = torch.cat([images[..., RING:-RING, :RING], images[..., RING:-RING, -RING:]], dim=-1)
    return torch.cat([top_bottom.flatten(2), sides.flatten(2)], dim=2)


def frame_median(images: torch.Tensor) -> torch.Tensor:
    """Each image's per-channel median over its frame, N×C: its background colour."""
    return channel_median(border(images))


def minus_median(images: torch.Tensor, median: torch.Tensor | None = None) -> torch.Tensor:
    """Each image minus its per-channel `median` (N×C; its own if not given), so the
    background reads 0 whatever its colour."""
    median = image_median(images) if median is None else median
    return images - median[:, :, None, None]


READ_SIZE = 28  # the side a digit reader reads at: a reader needs no more


def reader_view(images: torch.Tensor) -> torch.Tensor:
    """Float N×C×H×W in [0, 1] → N×2C×28×28, what the project's digit readers take (eval's and
    semantic consistency's alike): the image at READ_SIZE (antialiased where it is another
    size), then the image minus its per-channel median, so the background reads as 0 whatever
    its colour. Differentiable, so a training term can read through it."""
    if images.shape[-2:] != (READ_SIZE, READ_SIZE):
        images = F.interpolate(images, size=(READ_SIZE, READ_SIZE), mode="bilinear", antialias=True)
    return torch.cat([images, minus_median(images)], dim=1)


def figure_map(
    images: torch.Tensor, background: torch.Tensor | None = None, peak: torch.Tensor | None = None
) -> torch.Tensor:
    """Each pixel's largest distance (over channels) from its image's `background` colour (N×C;
    the frame's median if not given), scaled by the image's strongest (`peak`, N, where given)
    and saturating at half of it: N×1×H×W in [0, 1]. White on black, white on a colour and a
    colour on white all give the digit's outline, so the maps of an input and of its
    translation compare across domains."""
    background = frame_median(images) if background is None else background
    distance = (images - background[:, :, None, None]).abs().amax(dim=1, keepdim=True)
    peak = distance.flatten(1).amax(dim=1) if peak is None else peak
    return (2.0 * distance / peak.clamp(min=FIGURE_FLOOR)[:, None, None, None]).clamp(max=1.0)


@dataclass(frozen=True)
class WholeImage:
    """What the additions read of a whole image rather than of the pixels near each one: its
    median, its frame's median and its strongest figure pixel. A tile of a large image
    (tiles.py) is translated with its whole image's, so the tiles join as one translation."""

    median: torch.Tensor  # N×C
    frame: torch.Tensor  # N×C
    peak: torch.Tensor  # N

    @classmethod
    def of(cls, images: torch.Tensor) -> WholeImage:
        frame = frame_median(images)
        peaks = [
            (images[:, c] - frame[:, c, None, None]).abs().flatten(1).amax(dim=1)
            for c in range(images.shape[1])
        ]  # channel by channel: a large image's distances are never all held at once
        return cls(image_median(images), frame, torch.stack(peaks).amax(dim=0))
