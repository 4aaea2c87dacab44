"""How a setting is declared, once: a dataclass field whose metadata holds its check and flag.

`setting(default, check, flag)` makes the field. Validation (schema.py) runs every field's
`Check`; `train`'s options (command_line.py) are read from every field's `Flag`; so a setting,
the reference's or an addition's, is written in one place: the dataclass that lists it. This
module imports nothing of the package, so an addition's file can declare its settings here
without pulling the schema in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field

# The panels `train --help` groups its options in.
RUN = "Run and data"
SCHEDULE = "Schedule"
REFERENCE_KNOBS = "The reference design's knobs"
ADDITIONS = "Additions (not in the reference design)"
SPEED = "Speed and logging"

MAX_SEED = 2**32 - 1  # numpy's and torch's generators both take it; seeds derived add little
# The image sides a run trains at: a multiple of 4, since the generator halves the size twice.
MIN_SIZE, MAX_SIZE = 16, 128


@dataclass(frozen=True)
class Check:
    """What a field's value must be, and the one line that says so when it is not."""

    holds: Callable[[object], bool]
    message: str


@dataclass(frozen=True)
class Flag:
    """How a field reads as an option of `train`: its help and panel, and its values' form."""

    help: str
    panel: str
    choices: tuple[str, ...] | None = None  # the values it takes, listed in the help
    metavar: str | None = None
    path: bool = False  # given as a path on the command line, stored as a string


def setting(
    default: object = MISSING, check: Check | None = None, flag: Flag | None = None
) -> Field:
    """A settings field: its default (none: a value every caller gives), the check its
    values pass, and its `train` flag (None: a constant of the design no flag changes)."""
    return field(default=default, metadata={"check": check, "flag": flag})


def term_weight(help_text: str) -> Field:
    """The weight of an addition's loss term: 0 (off) by default, a number from 0 to 10⁶."""
    return setting(0.0, number(0, 1e6, "loss weights must be >= 0"), Flag(help_text, ADDITIONS))


def check_of(declared: Field) -> Check | None:
    return declared.metadata.get("check")


def flag_of(declared: Field) -> Flag | None:
    return declared.metadata.get("flag")


# -- checks ---------------------------------------------------------------------------------


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def in_range(value: object, low: float, high: float) -> bool:
    return is_number(value) and low <= value <= high


def is_training_size(side: object) -> bool:
    return is_int(side) and MIN_SIZE <= side <= MAX_SIZE and side % 4 == 0


def first_failure(checks: list[tuple[bool, str]]) -> str | None:
    return next((message for ok, message in checks if not ok), None)


def integer(low: int, high: int, message: str, *, optional: bool = False) -> Check:
    """An integer in [low, high] (or None, where `optional`)."""
    return Check(lambda v: (optional and v is None) or (is_int(v) and low <= v <= high), message)


def number(
    low: float, high: float, message: str, *, above_low: bool = False, below_high: bool = False
) -> Check:
    """A finite number in [low, high], open at an end where asked."""

    def holds(value: object) -> bool:
        inside = in_range(value, low, high)
        return inside and not (above_low and value == low) and not (below_high and value == high)

    return Check(holds, message)


def one_of(choices: tuple[str, ...], flag: str) -> Check:
    return Check(lambda v: v in choices, f"{flag} must be one of {', '.join(choices)}")


def boolean(message: str = "switches must be booleans") -> Check:
    return Check(lambda v: isinstance(v, bool), message)


def text_or_none(message: str) -> Check:
    return Check(lambda v: v is None or isinstance(v, str), message)
