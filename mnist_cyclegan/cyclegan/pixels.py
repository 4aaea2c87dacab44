"""Between uint8 pixels and the values the networks read and write.

A sigmoid generator works in [0, 1], a tanh one in [-1, 1]; everything outside the networks
(data, files, metrics) holds uint8 images.
"""

from __future__ import annotations

import numpy as np
import torch


def to_model(images: torch.Tensor, output: str) -> torch.Tensor:
    """uint8 N×C×H×W → float in the generator's output range ([0, 1] sigmoid, [-1, 1] tanh).
    Scaled in place on one float copy: a large image holds no second one."""
    scaled = images.to(torch.float32, copy=True).div_(255.0)
    return scaled.mul_(2.0).sub_(1.0) if output == "tanh" else scaled


def to_pixels(images: torch.Tensor, output: str) -> np.ndarray:
    """Model output → uint8 N×H×W (one channel) or N×H×W×3, rounded."""
    scaled = (images.float() + 1.0) / 2.0 if output == "tanh" else images.float()
    pixels = scaled.clamp(0, 1).mul_(255.0).round_().to(torch.uint8).cpu()  # one float copy
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels
