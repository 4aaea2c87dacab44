"""The deployable weights file: both generators and the typed metadata that rebuilds them.

`WeightsMeta` is everything besides tensors that `translate`, `eval` and the trainer need to
know about a model; it is validated in one place, `WeightsMeta.from_dict`, whichever file it
came from. Generators load as the reference's plain networks: the speed kit is for training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from mnist_cyclegan import __version__
from mnist_cyclegan.config import NetSettings, TrainSettings
from mnist_cyclegan.cyclegan.networks import Generator
from mnist_cyclegan.domains import check_style, get_domain
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.tensor_files import load_tensors, save_tensors

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
            return cls._parse(values)
        except (KeyError, TypeError, ValueError, MnistganError) as error:
            raise MnistganError(f"{source}: weights metadata unreadable ({error!s:.160})") from None

    @classmethod
    def _parse(cls, values: object) -> WeightsMeta:
        if not isinstance(values, dict):
            raise TypeError("not a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        net = NetSettings(**values.pop("net"))
        settings = values.pop("settings", None)
        meta = cls(
            net=net,
            settings=None if settings is None else TrainSettings.from_dict(settings),
            **values,
        )
        meta._check()
        return meta

    def _check(self) -> None:
        for name in ("channels_a", "channels_b"):
            if getattr(self, name) not in (1, 3):
                raise ValueError(f"{name} must be 1 or 3")
        for name in ("domain_a", "domain_b"):
            get_domain(getattr(self, name))
        check_style(self.style)
        sizes = (self.net.gen_width, self.net.res_blocks)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in sizes):
            raise TypeError("gen_width and res_blocks must be integers")
        if self.net.gen_width < 1 or self.net.res_blocks < 0:
            raise ValueError("gen_width must be >= 1 and res_blocks >= 0")
        if self.settings is not None:
            self.settings.validate()


def save_generators(path: Path, g_ab: Generator, g_ba: Generator, meta: WeightsMeta) -> None:
    """Both generators plus what rebuilds them: settings, domains, channels, versions."""
    tensors = {f"G_ab.{k}": v for k, v in g_ab.state_dict().items()}
    tensors.update({f"G_ba.{k}": v for k, v in g_ba.state_dict().items()})
    save_tensors(path, tensors, WEIGHTS_FORMAT, meta.to_dict())


def load_generators(
    path: Path, device: torch.device | str = "cpu"
) -> tuple[Generator, Generator, WeightsMeta]:
    """Rebuild (G_ab, G_ba, meta) from a weights file alone, in eval mode, as plain networks."""
    tensors, values = load_tensors(path, WEIGHTS_FORMAT)
    meta = WeightsMeta.from_dict(values, path)
    try:
        g_ab = Generator(meta.channels_a, meta.channels_b, meta.net)
        g_ba = Generator(meta.channels_b, meta.channels_a, meta.net)
        for prefix, generator in (("G_ab.", g_ab), ("G_ba.", g_ba)):
            state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            generator.load_state_dict(state, strict=True)
    except (KeyError, TypeError, RuntimeError) as error:
        raise MnistganError(
            f"{path}: weights do not match their settings ({error!s:.120})"
        ) from None
    return g_ab.to(device).eval(), g_ba.to(device).eval(), meta
