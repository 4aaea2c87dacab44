"""The deployable weights file: both generators and the typed metadata that rebuilds them.

`WeightsMeta` is everything besides tensors that `translate`, `eval` and the trainer need to
know about a model; it is validated in one place, `WeightsMeta.from_dict`, whichever file it
came from. Before any network is built, the tensors the metadata implies (computed on PyTorch's
"meta" device, which allocates nothing) are compared with the file's header, so a forged file
cannot make us allocate for a model it does not hold. Generators load as the reference's plain
networks: the speed kit is for training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from mnist_cyclegan.domains import DOMAINS, check_style, get_domain
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings
from mnist_cyclegan.tensor_files import TensorEntry, TensorFile, open_tensor_file, save_tensors
from mnist_cyclegan.variants.factory import define_generator
from mnist_cyclegan.version import __version__

WEIGHTS_FORMAT = "mnistgan-generators"


@dataclass(frozen=True)
class WeightsMeta:
    """What a weights file says about its model, besides the tensors."""

    net: NetSettings
    channels_a: int
    channels_b: int
    domain_a: str
    domain_b: str
    style: str = "threshold"
    settings: TrainSettings | None = None  # the training run's, when the file came from one
    step: int | None = None
    epoch: int | None = None
    batch_norm_stats: str | None = None
    mnistgan_version: str = __version__
    torch_version: str = torch.__version__

    @property
    def output(self) -> str:
        """The generators' output activation, which sets the range of their pixel values."""
        return self.net.output

    @property
    def seed(self) -> int:
        """The seed the domains' colours were drawn from (0 where no run is recorded)."""
        return self.settings.seed if self.settings is not None else 0

    def to_dict(self) -> dict:
        values = asdict(self)
        values["net"] = self.net.to_dict()
        values["settings"] = None if self.settings is None else self.settings.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: object, source: Path | str) -> WeightsMeta:
        """Validated metadata, or one line naming `source` and what is wrong."""
        try:
            meta = cls._parse(values)
            meta._check()
        except (KeyError, TypeError, ValueError, MnistganError) as error:
            message = str(error) if not isinstance(error, KeyError) else f"no {error}"
            raise MnistganError(f"{source}: weights metadata unusable ({message:.160})") from None
        return meta

    @classmethod
    def _parse(cls, values: object) -> WeightsMeta:
        if not isinstance(values, dict) or not isinstance(values.get("net"), dict):
            raise ValueError("not a JSON object with net settings")
        known = {f.name for f in fields(cls)} - {"net", "settings"}
        net = NetSettings.from_dict(values["net"])
        settings = values.get("settings")
        settings = None if settings is None else TrainSettings.from_dict(settings)
        return cls(net=net, settings=settings, **{k: v for k, v in values.items() if k in known})

    def _check(self) -> None:
        for name in ("domain_a", "domain_b", "style"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a name")
        for name, channels in (("domain_a", self.channels_a), ("domain_b", self.channels_b)):
            domain = getattr(self, name)
            recorded = getattr(self.settings, name) if self.settings is not None else None
            if domain not in DOMAINS and recorded != domain:
                raise ValueError(
                    f"{name} {domain[:64]} is none of ours, nor the set its run trained on"
                )
            allowed = (get_domain(domain).channels,) if domain in DOMAINS else (1, 3)
            if isinstance(channels, bool) or channels not in allowed:
                raise ValueError(
                    f"{name} {getattr(self, name)} does not take {channels!r} channels"
                )
        check_style(self.style)
        for name in ("step", "epoch"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValueError(f"{name} must be an integer")
        problem = self.net.problem()
        if problem is not None:
            raise ValueError(problem)
        if self.settings is not None:
            self.settings.validate()

    def expected_entries(self) -> dict[str, TensorEntry]:
        """The tensors both generators hold, as these settings build them, allocating nothing."""
        with torch.device("meta"):
            generators = {
                "G_ab": define_generator(self.channels_a, self.channels_b, self.net),
                "G_ba": define_generator(self.channels_b, self.channels_a, self.net),
            }
        return {
            f"{name}.{key}": TensorEntry.of(value)
            for name, generator in generators.items()
            for key, value in generator.state_dict().items()
        }


FLOAT_STORAGE = (torch.float32, torch.float16, torch.bfloat16)


def check_stored(file: TensorFile, expected: dict[str, TensorEntry]) -> None:
    """Every tensor as expected, except that floating ones may be stored in half precision
    too (the bundled models are): they load into the float32 networks."""
    floating = {name for name, entry in expected.items() if entry.dtype in FLOAT_STORAGE}
    file.check({n: TensorEntry(None, e.shape) if n in floating else e for n, e in expected.items()})
    for name in floating:
        if file.entries[name].dtype not in FLOAT_STORAGE:
            raise MnistganError(f"{file.path}: {name} is {file.entries[name].describe()}")


def save_generators(path: Path, g_ab: nn.Module, g_ba: nn.Module, meta: WeightsMeta) -> None:
    """Both generators plus what rebuilds them: settings, domains, channels, versions."""
    tensors = {f"G_ab.{k}": v for k, v in g_ab.state_dict().items()}
    tensors.update({f"G_ba.{k}": v for k, v in g_ba.state_dict().items()})
    save_tensors(path, tensors, WEIGHTS_FORMAT, meta.to_dict())


def load_generators(
    path: Path, device: torch.device | str = "cpu"
) -> tuple[nn.Module, nn.Module, WeightsMeta]:
    """Rebuild (G_ab, G_ba, meta) from a weights file alone, in eval mode, as plain networks."""
    file = open_tensor_file(path, WEIGHTS_FORMAT)
    meta = WeightsMeta.from_dict(file.meta, path)
    check_stored(file, meta.expected_entries())
    tensors = file.load()
    g_ab = define_generator(meta.channels_a, meta.channels_b, meta.net)
    g_ba = define_generator(meta.channels_b, meta.channels_a, meta.net)
    for prefix, generator in (("G_ab.", g_ab), ("G_ba.", g_ba)):
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        generator.load_state_dict(state, strict=True)
    return g_ab.to(device).eval(), g_ba.to(device).eval(), meta
