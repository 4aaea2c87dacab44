"""What `--preset quick` keeps of its choices on a user's own domains, decided by the data.

Some of the quick preset's additions hold only for images like our renderings: a figure over a
flat background. The two-tone output paints a figure in two colours taken from real target
images; the median offset reads each pixel's distance from the image's background colour (the
frame's median); the shape term compares figure maps drawn against that background. On a digit
blended into a photograph, a paper scan or a street photograph they mean nothing. Each is kept
only where a check on the training images shows that its assumption holds, and the run says in
its first lines which it turned off and why. The identity term (each generator given an image
of its own target side must return it unchanged) is kept on the same check, since beside a
photograph side it costs digits and texture (docs/measurements.md, "identity term off where a
side is not a flat background"); on the same check the run is longer, five epochs instead of
three, which keeps more of both (same page, "a longer schedule where a side is not a flat
background"). Everything else the preset chooses (its sizes, long skip, cycle noise, weight
average) assumes nothing of the images. A flag the user gave is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from mnist_cyclegan.data import DomainArrays
from mnist_cyclegan.figures import border, frame_median
from mnist_cyclegan.settings.schema import TrainSettings

CHECKED_IMAGES = 2_000  # per side: enough for a share to 2 points
FLAT_FRAME_LEVELS = 12.0  # grey levels a flat background's frame stays within (JPEG noise: ~5)
TWO_TONE_LEVELS = 24.0  # how far the 95th-percentile pixel may lie off its two colours' line
HOLDS_FROM = 0.9  # the share of a side's images that must pass for its variant to be kept
FALLBACK_HEAD = "sigmoid"
# Where a side has no flat background: five epochs, the last three decaying, instead of three
# and two (docs/measurements.md, "a longer schedule where a side is not a flat background").
LONGER_SCHEDULE = {"epochs": 5, "lr_decay_epochs": 3}


@dataclass(frozen=True)
class SideFindings:
    """The share of a side's training images that pass each check."""

    name: str
    flat_frame: float
    two_tone: float


def as_float(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W(×3) → float N×C×H×W in grey levels 0-255."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float()
    return x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)


def flat_frame_share(images: np.ndarray) -> float:
    """The share of images whose outer frame is one colour (nine in ten frame pixels within
    FLAT_FRAME_LEVELS of its median on every channel): a figure over a flat background."""
    x = as_float(images[:CHECKED_IMAGES])
    frame = border(x)
    off = (frame - frame_median(x)[:, :, None]).abs().amax(dim=1)
    return float(((off <= FLAT_FRAME_LEVELS).float().mean(dim=1) >= 0.9).float().mean())


def two_tone_share(images: np.ndarray) -> float:
    """The share of images made of two colours and their blends: every pixel (but the 5% the
    check forgives) near the line from the background colour (the frame's median) to the
    colour farthest from it."""
    checked = as_float(images[:CHECKED_IMAGES])
    x = checked.flatten(2)  # N×C×P
    background = frame_median(checked)[:, :, None]
    offset = x - background
    distance = offset.norm(dim=1)  # N×P
    farthest = distance.argmax(dim=1)
    ink = offset.gather(2, farthest[:, None, None].expand(-1, x.shape[1], 1))  # N×C×1
    length = ink.norm(dim=1, keepdim=True).clamp(min=1.0)
    along = ((offset * ink).sum(dim=1, keepdim=True) / length**2).clamp(0, 1)
    residual = (offset - along * ink).norm(dim=1)
    return float((residual.quantile(0.95, dim=1) <= TWO_TONE_LEVELS).float().mean())


def findings(arrays: DomainArrays) -> SideFindings:
    return SideFindings(
        arrays.domain, flat_frame_share(arrays.x_train), two_tone_share(arrays.x_train)
    )


def adapted(
    settings: TrainSettings, sides: tuple[DomainArrays, DomainArrays], given: set[str]
) -> tuple[TrainSettings, list[str]]:
    """The quick preset's settings with what the data does not support turned off (never a
    field in `given`), and one line per variant saying what was kept or dropped and why."""
    found = [findings(side) for side in sides]
    net, train, lines = settings.net, {}, []
    flat = all(f.flat_frame >= HOLDS_FROM for f in found)
    two_tone = all(f.two_tone >= HOLDS_FROM for f in found) and flat
    shares = ", ".join(f"{f.name}: {f.flat_frame:.0%}" for f in found)
    tones = ", ".join(f"{f.name}: {f.two_tone:.0%}" for f in found)
    if net.head == "two-tone" and "head" not in given:
        if not two_tone:
            net = replace(net, head=FALLBACK_HEAD, flat_figures=False)
        lines.append(
            f"two-tone output {'kept' if two_tone else 'off (a sigmoid output instead)'}: "
            f"images that are a figure in two colours over a flat background, {tones}; "
            f"needs {HOLDS_FROM:.0%} on both sides"
        )
    if net.median_offset and "median_offset" not in given:
        if not flat:
            net = replace(net, median_offset=False)
        lines.append(
            f"median offset {'kept' if flat else 'off'}: images with a flat background "
            f"(their frame one colour), {shares}; needs {HOLDS_FROM:.0%} on both sides"
        )
    if settings.lambda_shape and "lambda_shape" not in given and not flat:
        train["lambda_shape"] = 0.0
        lines.append("shape term off: it compares figures against a flat background")
    if settings.lambda_identity and "lambda_identity" not in given and not flat:
        train["lambda_identity"] = 0.0
        lines.append(
            "identity term off: measured to cost digits where a side has no flat background"
        )
    if not flat and not given & LONGER_SCHEDULE.keys():
        train.update(LONGER_SCHEDULE)
        lines.append(
            f"{LONGER_SCHEDULE['epochs']} epochs, the last {LONGER_SCHEDULE['lr_decay_epochs']} "
            "decaying: measured to keep more digits where a side has no flat background"
        )
    return replace(settings, **train, net=net), lines


def on_own_data(sides: tuple[DomainArrays, DomainArrays]) -> bool:
    """Whether a side is a user's own set: our renderings need no check."""
    return not all(side.rendered for side in sides)
