"""Colour on request: `translate --color '#ff8800'`, `Translator.a2b(x, color=...)`.

A two-tone generator (variants/two_tone.py) paints its figure with a palette (ink, paper) it
is given, and after training draws one from a bank of its target domain's real palettes. A
requested colour replaces the role that varies in that bank, the other role keeps the bank's
typical colour: into colored-background the background (paper) takes the colour and the digit
stays white, into colored-digit the digit (ink) takes it and the paper stays white, and for a
user's own pair whichever role the data vary. A side with one fixed palette (mnist) or a
generator that paints its own pixels has no colour to choose, and saying one is an error.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.variants.two_tone import TwoToneGenerator

RANDOM = "random"  # the bank's colour, picked by a hash of the input (the default)
# A role varies when its colours' standard deviation over the bank (0-1 per channel, summed
# over channels) reaches this: mnist's white-on-black palettes read 0.00, colored-digit's inks
# and colored-background's papers about 0.85.
MIN_SPREAD = 0.05
HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")

Colour = str | tuple[int, int, int] | None


def parse_colour(colour: Colour) -> tuple[float, float, float] | None:
    """RGB in [0, 1] from '#rrggbb', '#rgb', 'random' or None (both: the bank's colour), or an
    (r, g, b) tuple of 0-255 integers."""
    if colour is None or (isinstance(colour, str) and colour.strip().lower() == RANDOM):
        return None
    if isinstance(colour, str):
        match = HEX_COLOUR.fullmatch(colour.strip())
        if match is None:
            raise MnistganError(f"colour {colour!r}: give '#rrggbb' (as '#ff8800') or 'random'")
        digits = match.group(1)
        digits = "".join(2 * d for d in digits) if len(digits) == 3 else digits
        return tuple(int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    values = tuple(colour)
    if len(values) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in values):
        raise MnistganError(f"colour {colour!r}: give three integers 0-255, '#rrggbb' or 'random'")
    return tuple(v / 255 for v in values)


def coloured_role(generator: nn.Module, side: str) -> int:
    """Which role of a two-tone generator's palettes takes a requested colour: 0 (ink) or 1
    (paper), the one its bank varies; `side` names the target domain in messages."""
    if not isinstance(generator, TwoToneGenerator):
        raise MnistganError(
            f"this model paints {side} pixel by pixel, with no palette to give it a colour "
            "(only a two-tone output, --head two-tone as in --preset quick, takes --color)"
        )
    bank = generator.palette_bank.float()
    if bank.shape[-1] != 3:
        raise MnistganError(f"{side} is grey: it has no colour to choose")
    spread = bank.std(dim=0).sum(dim=-1)  # per role
    if float(spread.max()) < MIN_SPREAD:
        raise MnistganError(f"{side} has one fixed palette: it has no colour to choose")
    return int(spread.argmax())


def requested_palette(
    generator: nn.Module, colour: tuple[float, float, float], count: int, side: str
) -> torch.Tensor:
    """`count` palettes (N×2×3) painting in `colour` where the bank varies, the bank's median
    colour in the other role."""
    role = coloured_role(generator, side)
    bank = generator.palette_bank.float()
    palette = bank.median(dim=0).values.clone()  # 2×3
    palette[role] = torch.tensor(colour, device=bank.device)
    return palette.expand(count, -1, -1)
