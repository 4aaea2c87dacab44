"""`train`'s options, read from the settings' own fields: a flag is declared once, where its
field is (fields.py), and this module turns every field with a `Flag` into a Typer option.

A settings option defaults to None, "not given", so a preset or a run's own settings decide
where the user said nothing; its help ends with what the reference and the quick preset set it
to, from the dataclasses themselves, so the help cannot drift from the code. A run option
(`RunOptions`) defaults to its field's default. Choices are listed as their values and are a
usage error otherwise; a switch reads --name/--no-name.
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING, Field, dataclass, fields
from pathlib import Path
from typing import Annotated, Literal

import typer

from mnist_cyclegan.settings.fields import Flag, flag_of
from mnist_cyclegan.settings.run_options import RunOptions
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings

SHOWN = {True: "on", False: "off", None: "none"}
# The types a field is written with, as a command line parses them.
PLAIN_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "Path": Path}


@dataclass(frozen=True)
class Option:
    """One option of `train`: the field it sets, where that field lives, and its flag."""

    name: str
    home: type  # TrainSettings, NetSettings or RunOptions
    declared: Field
    flag: Flag

    def value_type(self) -> object:
        """The type Typer parses: the field's, without None; a path, or one of the choices."""
        if self.flag.choices is not None:
            return Literal[self.flag.choices]
        if self.flag.path:
            return Path
        if isinstance(self.declared.type, type):
            return self.declared.type
        written = str(self.declared.type).replace(" ", "").split("|")  # "int | None"
        known = [PLAIN_TYPES[name] for name in written if name in PLAIN_TYPES]
        if not known:
            raise TypeError(f"{self.name}: a flag of type {self.declared.type} is not parsed")
        return known[0]

    def default(self) -> object:
        """None for a setting (not given); a run option's own default."""
        if self.home is RunOptions and self.declared.default is not MISSING:
            return self.declared.default
        return None

    def parameter(self) -> inspect.Parameter:
        is_switch = self.value_type() is bool
        value_type = self.value_type() if self.home is RunOptions else self.value_type() | None
        typer_option = typer.Option(
            help=self.help_text(),
            rich_help_panel=self.flag.panel,
            **({"metavar": ""} if is_switch else {}),
            **({"metavar": self.flag.metavar} if self.flag.metavar else {}),
        )
        return inspect.Parameter(
            self.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=self.default(),
            annotation=Annotated[value_type, typer_option],
        )

    def help_text(self) -> str:
        if self.home is RunOptions:
            return self.flag.help
        return f"{self.flag.help} {presets_say(self.name, self.home is NetSettings)}".rstrip()


def presets_say(name: str, net: bool) -> str:
    """What the presets set a field to, for the help: both where they differ, else the one
    default (nothing where that is "none": the help says what none means)."""
    reference, quick = TrainSettings(), TrainSettings.preset("quick")
    ours, fast = (reference.net, quick.net) if net else (reference, quick)
    ours, fast = getattr(ours, name), getattr(fast, name)
    shown_ours, shown_fast = (
        SHOWN.get(v, v) if isinstance(v, bool | None) else v for v in (ours, fast)
    )
    if ours != fast:
        return f"(reference: {shown_ours}; quick: {shown_fast})"
    return "" if ours is None else f"(default: {shown_ours})"


def options() -> list[Option]:
    """Every field with a flag, in the order the help lists them: the run's data and schedule,
    the networks, then how the run goes."""
    homes = (TrainSettings, NetSettings, RunOptions)
    return [
        Option(declared.name, home, declared, flag)
        for home in homes
        for declared in fields(home)
        if (flag := flag_of(declared)) is not None
    ]


def command_parameters(leading: list[inspect.Parameter]) -> inspect.Signature:
    """`train`'s signature: the command's own parameters, then one per field with a flag."""
    return inspect.Signature([*leading, *(option.parameter() for option in options())])


def split_given(values: dict[str, object]) -> tuple[dict, dict, dict]:
    """The values a command line gave, by the class whose field each is: TrainSettings' and
    NetSettings' (those given, not None; paths as strings), and RunOptions' (all of them).
    A name that is no field of any raises TypeError: a renamed field must fail, not vanish."""
    homes = {option.name: option.home for option in options()}
    unknown = sorted(set(values) - set(homes))
    if unknown:
        raise TypeError(f"no settings field {unknown[0]!r}")
    train, net, run = {}, {}, {}
    for name, value in values.items():
        home = homes[name]
        if home is RunOptions:
            run[name] = value
        elif value is not None:
            (net if home is NetSettings else train)[name] = (
                str(value) if isinstance(value, Path) else value
            )
    return train, net, run
