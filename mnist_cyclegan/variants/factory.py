"""`define_generator`: the one place a generator is picked by its settings, as junyanz's
`networks.define_G` picks a network by name. A new head is a file whose `VARIANT` names it
(`head=`) and its registry line."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from torch import nn

from mnist_cyclegan.cyclegan import networks
from mnist_cyclegan.cyclegan.layers import PLAIN, Layers
from mnist_cyclegan.cyclegan.networks import Generator
from mnist_cyclegan.variants import registry
from mnist_cyclegan.variants.generator import GeneratorWithAdditions

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import NetSettings

HEADS: dict[str, type[nn.Module]] = {
    "sigmoid": GeneratorWithAdditions,  # the reference's activation, with additions to it
    "tanh": GeneratorWithAdditions,
    **registry.heads(),  # attention, two-tone: each its file's
}


def generator_class(settings: NetSettings) -> type[nn.Module]:
    """The reference's own class where the settings add nothing to it, else the head's."""
    if settings.is_reference():
        return Generator
    return HEADS[settings.head]


def define_generator(
    in_channels: int, out_channels: int, settings: NetSettings, layers: Layers = PLAIN
) -> nn.Module:
    """A generator from `in_channels` to `out_channels` as `settings` describe it."""
    return generator_class(settings)(in_channels, out_channels, settings, layers)


# The four networks of any settings: cyclegan/networks.py's `build_networks`, its generators
# picked here (it builds the reference's own by default).
build_networks = partial(networks.build_networks, generator=define_generator)
