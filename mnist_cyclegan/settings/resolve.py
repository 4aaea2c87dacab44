"""A run's final settings, decided once and before the Trainer exists: a preset's, a
config.json's or a resumed run's own (read from its checkpoint), with the flags the user gave
on top, then what the data read allows (`decide`).

Three stages, in this order and nowhere else: the preset and its changes for the pair of
domains (presets.py); the flags given; and, once both sides' images are read, the quick
preset's choices that the data does not support turned off (own_data.py) and the size a
user's set was read at recorded, so that the weights file alone says how to read images.

The flags arrive by field name (settings/command_line.py), so a flag that names no field of the
settings is an error, never dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mnist_cyclegan.data import DomainArrays
from mnist_cyclegan.data.sources import distinct_names, domain_name
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings import own_data
from mnist_cyclegan.settings.presets import pair_preset
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.tensor_files import strict_json
from mnist_cyclegan.training.batches import training_sides
from mnist_cyclegan.training.checkpoint import read_checkpoint_settings

Sides = tuple[DomainArrays, DomainArrays]

# Only these may differ from a run's own settings when it resumes: they extend or cut the run
# without changing what each step computes.
CHANGEABLE_ON_RESUME = ("epochs", "steps")
MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class Given:
    """The settings fields a command line gave: of `TrainSettings` and of its `NetSettings`."""

    train: dict
    net: dict

    def names(self) -> set[str]:
        return set(self.train) | set(self.net)

    def on(self, base: TrainSettings) -> TrainSettings:
        return replace(base, **self.train, net=replace(base.net, **self.net))


def settings_for_new_run(preset: str | None, flags: Given) -> TrainSettings:
    """The preset's settings (the reference's by default), with its changes for the pair of
    domains trained, and the flags the user gave on top."""
    name = preset or "reference"
    flags = with_named_sides(flags)
    base = TrainSettings.preset(name)
    domain_a = flags.train.get("domain_a", base.domain_a)
    domain_b = flags.train.get("domain_b", base.domain_b)
    changes = dict(pair_preset(name, domain_a, domain_b))
    net_changes = changes.pop("net", {})
    base = replace(base, **changes, net=replace(base.net, **net_changes))
    net = replace(base.net, **flags.net)
    if net.head != "two-tone" and "flat_figures" not in flags.net:
        net = replace(net, flat_figures=False)  # the preset's, for a two-tone output turned off
    return replace(base, **flags.train, net=net)


def with_named_sides(flags: Given) -> Given:
    """The flags with each side's domain named after the data given for it (data/sources.py):
    `--data-a mnist` is our domain, a make-data file names its own, a user's set is named after
    its path."""
    train = dict(flags.train)
    names = {}
    for side in "ab":
        spec = train.get(f"data_{side}")
        if spec is None:
            continue
        name = domain_name(spec, side)
        chosen = train.get(f"domain_{side}")
        if chosen not in (None, name):
            raise MnistganError(
                f"--data-{side} {spec} holds domain {name}, not --domain-{side} {chosen}: give one"
            )
        if spec in DOMAINS:
            del train[f"data_{side}"]
        names[side] = name
    if len(names) == 2:
        names["a"], names["b"] = distinct_names(names["a"], names["b"])
    train.update({f"domain_{side}": name for side, name in names.items()})
    return replace(flags, train=train)


def settings_for_resume(stored: TrainSettings, flags: Given) -> TrainSettings:
    """A run's own settings; a flag that would change them is refused, except the run's length."""
    for key, value in {**flags.train, **flags.net}.items():
        old = getattr(stored.net if key in flags.net else stored, key)
        if key not in CHANGEABLE_ON_RESUME and value != old:
            flag = "--" + key.replace("_", "-")
            raise MnistganError(
                f"{flag} {value} differs from the run's {old!r}; only --epochs and --steps may "
                "change on --resume"
            )
    return replace(stored, **{k: v for k, v in flags.train.items() if k in CHANGEABLE_ON_RESUME})


def settings_from_config(path: Path) -> TrainSettings:
    """The settings a run's config.json records (`train --config`), validated."""
    try:
        if not path.is_file():
            raise MnistganError(f"{path}: no such file")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError("larger than any config.json we write")
        values = strict_json(path.read_text(encoding="utf-8"))
        return TrainSettings.from_dict(values["settings"]).validate()
    except MnistganError as error:
        raise MnistganError(
            f"{path}: {error}" if str(path) not in str(error) else str(error)
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        message = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise MnistganError(f"{path}: not a run's config.json ({message[:120]})") from None


def run_settings(
    flags: Given, *, preset: str | None, config: Path | None, resume: bool, out: Path
) -> TrainSettings:
    """A new run's settings from its preset (or a config.json) and flags, or a resumed run's
    own from its checkpoint."""
    if config is not None:
        if resume or preset is not None:
            raise MnistganError(
                "--config starts a new run from a run's settings: no --resume or --preset"
            )
        return flags.on(settings_from_config(config))
    if not resume:
        return settings_for_new_run(preset, flags)
    if preset is not None:
        raise MnistganError("--preset applies to new runs; --resume keeps the run's own")
    stored = read_checkpoint_settings(out / "checkpoint.safetensors")
    return settings_for_resume(stored, flags)


def default_run_folder(flags: Given) -> Path:
    """runs/A-to-B, after the domains the flags name (a user's sets by their names)."""
    named = with_named_sides(flags).train
    defaults = TrainSettings()
    domain_a = named.get("domain_a", defaults.domain_a)
    domain_b = named.get("domain_b", defaults.domain_b)
    return Path("runs") / f"{domain_a}-to-{domain_b}"


@dataclass(frozen=True)
class Decided:
    """A run's final settings, the two sides' images they were decided on, and what the
    decision says to the user (one line per choice the data changed or kept)."""

    settings: TrainSettings
    sides: Sides
    told: tuple[str, ...] = ()


def decide(
    flags: Given, *, preset: str | None, config: Path | None, resume: bool, out: Path
) -> Decided:
    """The settings a `train` command line makes, with both sides' images read for them."""
    settings = run_settings(flags, preset=preset, config=config, resume=resume, out=out)
    settings = settings.validate()
    sides = training_sides(settings)
    fresh_quick = preset == "quick" and not resume and config is None
    return with_data(settings, sides, given=flags.names() if fresh_quick else None)


def with_data(settings: TrainSettings, sides: Sides, *, given: set[str] | None = None) -> Decided:
    """The last stage, once the images are read: with `given` (the fields the user set, for
    a new quick run) the preset's choices the data does not support are turned off
    (own_data.py; never a field in `given`); a run on a user's own set records the size it
    read the images at; runs on our renderings keep `size` as given."""
    told: list[str] = []
    if given is not None and own_data.on_own_data(sides):
        settings, told = own_data.adapted(settings, sides, given)
    own = not all(side.rendered for side in sides)
    if own and settings.size is None:
        settings = replace(settings, size=sides[0].size)
    return Decided(settings.validate(), sides, tuple(told))
