"""What `train`'s flags make of a run's settings: a preset's, a config.json's, or a resumed
run's own (read from its checkpoint), with the flags the user gave on top.

The flags arrive as explicit keyword arguments, field by field (`given`), so a flag that names
no field of the settings is an error, never dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

from mnist_cyclegan.config import NetSettings, TrainSettings
from mnist_cyclegan.data.sources import distinct_names, domain_name
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.presets import pair_preset
from mnist_cyclegan.tensor_files import strict_json
from mnist_cyclegan.training.checkpoint import read_checkpoint_settings

# Only these may differ from a run's own settings when it resumes: they extend or cut the run
# without changing what each step computes.
CHANGEABLE_ON_RESUME = ("epochs", "steps")
MAX_CONFIG_BYTES = 1 << 20


def given(settings_class: type, **values: object) -> dict:
    """The values the user gave (not None) for fields of `settings_class`, paths as strings.
    A name that is no field raises TypeError: a renamed field must fail, not vanish."""
    names = {field.name for field in fields(settings_class)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise TypeError(f"{settings_class.__name__} has no field {unknown[0]!r}")
    return {
        name: str(value) if isinstance(value, Path) else value
        for name, value in values.items()
        if value is not None
    }


def given_flags(**values: object) -> Given:
    """The flags the user gave, each to the settings class it is a field of (TrainSettings or
    its NetSettings); a name that is a field of neither raises TypeError."""
    net_names = {field.name for field in fields(NetSettings)}
    net = {k: v for k, v in values.items() if k in net_names}
    train = {k: v for k, v in values.items() if k not in net_names}
    return Given(train=given(TrainSettings, **train), net=given(NetSettings, **net))


@dataclass(frozen=True)
class Given:
    """The settings fields a command line gave: of `TrainSettings` and of its `NetSettings`."""

    train: dict
    net: dict

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
