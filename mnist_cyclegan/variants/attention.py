"""The `attention` head (AttentionGAN's output, Tang et al. 2019; not in the reference): the
last conv also predicts a per-pixel mask that mixes the generated image with the input itself
in the output's channels, so the digit's core, whose grey levels the other domain keeps, can be
copied instead of redrawn.

No preset uses it any more: the quick preset's two-tone output replaced it
(docs/measurements.md, "Every pair of domains (second round)"). It stays because files of
earlier releases were made with it; tests/test_nets.py checks what the mask copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mnist_cyclegan.figures import WholeImage
from mnist_cyclegan.variants.generator import GeneratorWithAdditions
from mnist_cyclegan.variants.variant import Variant

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import NetSettings


class AttentionGenerator(GeneratorWithAdditions):
    """Output = mask · generated + (1 − mask) · input, the mask a sigmoid channel of its own."""

    def add_head(self, out_channels: int, settings: NetSettings) -> None:
        self.output = settings.output  # sigmoid: a mask in [0, 1], images in [0, 1]

    def head_outputs(self, out_channels: int) -> int:
        return out_channels + 1

    def activation(self) -> nn.Module | None:
        return nn.Sigmoid()

    def finish(
        self,
        y: torch.Tensor,
        image: torch.Tensor,
        palette: torch.Tensor | None,
        whole: WholeImage | None = None,
    ) -> torch.Tensor:
        generated, mask = y[:, : self.out_channels], y[:, self.out_channels :]
        return mask * generated + (1 - mask) * self.copy_of(image)

    def copy_of(self, image: torch.Tensor) -> torch.Tensor:
        """The input in the output's channels: grey repeated into RGB, RGB averaged to grey.
        The channel mean, not the luma the rest of the tool uses (channels.py): it is the rule
        this head's files were trained under, and a file's translations stay what they were."""
        if image.shape[1] == self.out_channels:
            return image
        if self.out_channels == 1:
            return image.mean(dim=1, keepdim=True)
        return image.expand(-1, self.out_channels, -1, -1)


VARIANT = Variant(
    name="attention head",
    head=("attention", AttentionGenerator),
    is_on=lambda settings: settings.net.head == "attention",
)
