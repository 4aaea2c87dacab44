"""The `attention` head (AttentionGAN's output, Tang et al. 2019; not in the reference): the
last conv also predicts a per-pixel mask that mixes the generated image with the input itself,
turned into the output's channels (mnist_cyclegan/channels.py), so the digit's core, whose grey
levels the other domain keeps, can be copied instead of redrawn.

No preset uses it any more: the quick preset's two-tone output replaced it (BENCHMARKS.md,
"two-tone output"). It stays because the bundled model `mnist-colored-background` and files of
earlier releases were made with it; tests/test_nets.py checks what the mask copies.
"""

from __future__ import annotations

import torch
from torch import nn

from mnist_cyclegan.channels import match_tensor_channels
from mnist_cyclegan.config import NetSettings
from mnist_cyclegan.variants.generator import GeneratorWithAdditions


class AttentionGenerator(GeneratorWithAdditions):
    """Output = mask · generated + (1 − mask) · input, the mask a sigmoid channel of its own."""

    def add_head(self, out_channels: int, settings: NetSettings) -> None:
        self.output = settings.output  # sigmoid: a mask in [0, 1], images in [0, 1]

    def head_outputs(self, out_channels: int) -> int:
        return out_channels + 1

    def activation(self) -> nn.Module | None:
        return nn.Sigmoid()

    def finish(
        self, y: torch.Tensor, image: torch.Tensor, palette: torch.Tensor | None
    ) -> torch.Tensor:
        generated, mask = y[:, : self.out_channels], y[:, self.out_channels :]
        copied = match_tensor_channels(image, self.out_channels)
        return mask * generated + (1 - mask) * copied
