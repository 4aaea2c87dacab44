"""Cycle noise (`--cycle-noise`, not in the reference): noise on each fake before the cycle
translates it back (Chu et al., 2017, "CycleGAN, a master of steganography"). A translation that
erases something (a colour; the grey shading a thresholded colored-digit lacks) leaves the cycle
loss unmet, and without noise the generator learns to hide what was erased in a faint texture, a dot
pattern the discriminator then fights. Noise stronger than that texture makes hiding useless: the
quick preset's std 0.1 (25 grey levels) sits above the patterns its failed runs hid shading in
(settings/presets.py; docs/measurements.md, "Every pair of domains (third round)").
tests/test_variants.py checks that the noise reaches the way back and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mnist_cyclegan.settings.fields import ADDITIONS, Flag, number, setting
from mnist_cyclegan.variants.variant import Variant


@dataclass(frozen=True)
class CycleNoiseSettings:
    cycle_noise: float = setting(
        0.0,
        number(0, 100, "--cycle-noise must be >= 0"),
        Flag("Noise std on fakes before the way back.", ADDITIONS),
    )


def cycle_noise(shape: torch.Size, std: float, device: torch.device) -> torch.Tensor | None:
    """Noise for a batch of fakes; None at std 0. Drawn in fp32 and in element order, so it
    does not depend on precision or memory layout."""
    return std * torch.randn(shape, device=device) if std > 0 else None


def jitter(images: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    return images if noise is None else images + noise


VARIANT = Variant(
    name="cycle noise",
    train_settings=CycleNoiseSettings,
    is_on=lambda settings: bool(settings.cycle_noise),
    changes_step=True,  # noise drawn for each batch before its halves (step.py)
)
