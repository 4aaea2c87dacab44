"""Grey ↔ RGB, one rule everywhere: grey is repeated into RGB, RGB turns grey by ITU-R 601
luma (0.299 R + 0.587 G + 0.114 B, as Pillow's "L" mode), rounded for uint8 images.

A grey pixel keeps its value both ways, so a grey digit is an RGB image whose channels agree.
Two forms of the same rule: uint8 arrays as files hold them (N×H×W or N×H×W×3) and float
tensors as the networks read them (N×C×H×W).
"""

from __future__ import annotations

import numpy as np
import torch

LUMA = (0.299, 0.587, 0.114)


def grey_to_rgb(pixels: np.ndarray) -> np.ndarray:
    """uint8 N×H×W (grey) → N×H×W×3; RGB images are returned as they are."""
    return np.repeat(pixels[..., None], 3, axis=-1) if pixels.ndim == 3 else pixels


def rgb_to_grey(pixels: np.ndarray) -> np.ndarray:
    """uint8 N×H×W×3 → N×H×W by luma, rounded; grey images are returned as they are."""
    if pixels.ndim == 3:
        return pixels
    return np.clip(np.rint(pixels.astype(np.float64) @ np.array(LUMA)), 0, 255).astype(np.uint8)


def match_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """uint8 images as a side with `channels` channels (1 or 3) holds them."""
    return grey_to_rgb(pixels) if channels == 3 else rgb_to_grey(pixels)


def match_tensor_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Float N×C×H×W images with `channels` channels: grey expanded into RGB, RGB by luma."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    luma = torch.tensor(LUMA, device=images.device, dtype=images.dtype)[None, :, None, None]
    return (images * luma).sum(dim=1, keepdim=True)
