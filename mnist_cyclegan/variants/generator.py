"""The generator with additions: the reference's layers, run so that additions can act.

The reference generator (cyclegan/networks.py) is one sequence of layers. A generator with
additions is built from the same layers (`trunk_layers`, `output_layers`) and runs them in three
parts, so that an addition can act between them: the stem (the first 7×7 conv block), the body
(down, residual blocks, up) and the output layers. Its head (the output layers' end) is picked
by name: sigmoid or tanh as the reference's, `attention` (variants/attention.py) or `two-tone`
(variants/two_tone.py), each a subclass with its own output channels and finish. Tensors keep
the names they have always been stored under, so files of every release load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mnist_cyclegan.cyclegan.layers import PLAIN, Layers
from mnist_cyclegan.cyclegan.networks import (
    ACTIVATIONS,
    STEM_LAYERS,
    initialise,
    output_layers,
    trunk_layers,
)
from mnist_cyclegan.figures import WholeImage
from mnist_cyclegan.variants import long_skip, median_offset

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import NetSettings


class GeneratorWithAdditions(nn.Module):
    """The reference generator's layers, with `long_skip` and `median_offset` where the
    settings ask, and a head that subclasses choose (this class: the reference's activation)."""

    def __init__(
        self, in_channels: int, out_channels: int, settings: NetSettings, layers: Layers = PLAIN
    ) -> None:
        super().__init__()
        self.median_offset, self.long_skip = settings.median_offset, settings.long_skip
        stem_inputs = median_offset.stem_inputs(in_channels) if self.median_offset else in_channels
        body = trunk_layers(stem_inputs, settings, layers)
        self.head_start = len(body)
        self.add_head(out_channels, settings)
        body += output_layers(self.head_outputs(out_channels), settings, layers, self.activation())
        self.model = nn.Sequential(*body)
        self.in_channels, self.out_channels = in_channels, out_channels
        initialise(self)

    # -- what a head decides (subclasses override) ----------------------------------------

    def add_head(self, out_channels: int, settings: NetSettings) -> None:
        """Register the head's own tensors, between the trunk's layers and the output layers
        (the order the random initialisation has always drawn them in)."""
        self.output = settings.output

    def head_outputs(self, out_channels: int) -> int:
        return out_channels

    def activation(self) -> nn.Module | None:
        return ACTIVATIONS[self.output]()

    def palette_for(self, image: torch.Tensor, palette: torch.Tensor | None) -> torch.Tensor | None:
        """The palette a two-tone head paints with; no other head takes one."""
        if palette is not None:
            raise TypeError(f"a {type(self).__name__} paints with no palette")
        return None

    def condition(self, stem: torch.Tensor, palette: torch.Tensor | None) -> torch.Tensor:
        """The stem's features, as the head would have them (two-tone adds the palette)."""
        return stem

    def finish(
        self,
        y: torch.Tensor,
        image: torch.Tensor,
        palette: torch.Tensor | None,
        whole: WholeImage | None = None,
    ) -> torch.Tensor:
        """The output from the output layers' `y` (and the input `image`, a tile of the image
        `whole` describes where given)."""
        return y

    # -- the forward pass ------------------------------------------------------------------

    def forward(
        self, x: torch.Tensor, palette: torch.Tensor | None = None, whole: WholeImage | None = None
    ) -> torch.Tensor:
        """The translation of x; where x is a tile of a larger image (tiles.py), `whole` holds
        what the additions read of that image, and `palette` is the one picked for it."""
        palette = self.palette_for(x, palette)
        median = None if whole is None else whole.median
        stem_input = median_offset.with_offset(x, median) if self.median_offset else x
        stem = self.condition(self.model[:STEM_LAYERS](stem_input), palette)
        decoded = self.model[STEM_LAYERS : self.head_start](stem)
        if self.long_skip:
            decoded = long_skip.join(decoded, stem)
        return self.finish(self.model[self.head_start :](decoded), x, palette, whole)
