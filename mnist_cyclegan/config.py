"""What a run computes and how it runs: the settings schema, and the device a run uses.

`TrainSettings` (with its `NetSettings`) decides what a run computes; it is written to
config.json and into every checkpoint, and weights files carry it, so a file alone rebuilds its
model. `RunOptions` decides only how the run goes (where, on what, how often it saves, which
kernels): a run resumed with other options computes the same thing. `TrainSettings()` is the
reference design and schedule; presets (presets.py) change some of it. What a command line
makes of them is run_settings.py's: this schema reads no file.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_cyclegan.domains import DOMAINS, check_style, get_domain
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.presets import PRESETS

if TYPE_CHECKING:
    import torch

NORMS = ("batch", "instance")
PAIRINGS = ("disjoint", "shuffled")
PRECISIONS = ("fp32", "bf16")
KERNELS = ("auto", "plain", "fast")
MAX_SEED = 2**32 - 1  # numpy's and torch's generators both take it; seeds derived add little
# The image sides a run trains at: a multiple of 4, since the generator halves the size twice.
MIN_SIZE, MAX_SIZE = 16, 128


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_training_size(side: object) -> bool:
    return is_int(side) and MIN_SIZE <= side <= MAX_SIZE and side % 4 == 0


def is_number(value: object) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def in_range(value: object, low: float, high: float) -> bool:
    return is_number(value) and low <= value <= high


def first_failure(checks: list[tuple[bool, str]]) -> str | None:
    return next((message for ok, message in checks if not ok), None)


HEADS = ("sigmoid", "tanh", "attention", "two-tone")  # variants/factory.py builds each


@dataclass(frozen=True)
class NetSettings:
    """Architecture settings; stored with every weights file so it alone rebuilds the model.
    The defaults are the reference design; the last block are additions (variants/)."""

    gen_width: int = 32  # generator base width: 32 -> 64 -> 128 channels
    res_blocks: int = 6  # residual blocks at the bottleneck
    disc_width: int = 64  # discriminator base width: 64 -> 128 -> 256 -> 512
    norm: str = "batch"  # batch (the reference) or instance
    bn_decay: float = 0.999  # Keras' moving-average decay; PyTorch momentum = 1 - decay
    norm_eps: float = 1e-3
    final_norm: bool = True  # the reference normalises the last conv before its output
    residual_relu: bool = True  # the reference ends each residual block with ReLU(x + body(x))
    # The generator's output, by name: sigmoid (the reference) or tanh, or an addition's head:
    # attention (variants/attention.py) or two-tone (variants/two_tone.py).
    head: str = "sigmoid"
    long_skip: bool = False  # add the stem's features to the decoder's (variants/long_skip.py)
    median_offset: bool = False  # the stem also reads |x - median| (variants/median_offset.py)
    flat_figures: bool = False  # two-tone: no shade into flat figures (variants/two_tone.py)

    def is_reference(self) -> bool:
        """Whether these settings build the reference's own generator, nothing added to it."""
        return self.head in ("sigmoid", "tanh") and not (self.long_skip or self.median_offset)

    @property
    def output(self) -> str:
        """The value range the generators read and write: tanh [-1, 1] or sigmoid [0, 1]."""
        return "tanh" if self.head == "tanh" else "sigmoid"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> NetSettings:
        """Settings as a file stores them; keys it does not know are ignored, a switch added
        after a file was written takes the value that file's networks were built with, and the
        head of files written before heads had names is read from their switches."""
        known = {f.name for f in fields(cls)}
        values = {**FORMER_DEFAULTS, **values}
        if "head" not in values:
            values["head"] = former_head(values)
        return cls(**{k: v for k, v in values.items() if k in known})

    def problem(self) -> str | None:
        """What is wrong with these settings, if anything: types, choices and sane sizes (so a
        forged file cannot ask for a network that fills the memory)."""
        flags = ("final_norm", "long_skip", "median_offset", "residual_relu", "flat_figures")
        return first_failure(
            [
                (self.norm in NORMS, f"--norm must be one of {', '.join(NORMS)}"),
                (self.head in HEADS, f"--head must be one of {', '.join(HEADS)}"),
                (is_int(self.gen_width) and 1 <= self.gen_width <= 256, "--gen-width: 1 to 256"),
                (is_int(self.disc_width) and 1 <= self.disc_width <= 256, "--disc-width: 1 to 256"),
                (is_int(self.res_blocks) and 0 <= self.res_blocks <= 64, "--res-blocks: 0 to 64"),
                (in_range(self.bn_decay, 0, 1) and self.bn_decay < 1, "bn_decay must be in [0, 1)"),
                (in_range(self.norm_eps, 0, 1) and self.norm_eps > 0, "norm_eps must be in (0, 1]"),
                (
                    all(isinstance(getattr(self, f), bool) for f in flags),
                    "switches must be booleans",
                ),
                (
                    self.head == "two-tone" or not self.flat_figures,
                    "--flat-figures decides a two-tone output's shade: it needs --head two-tone",
                ),
            ]
        )


def former_head(values: dict) -> object:
    """The head a file written before heads had names was built with, from its switches."""
    if values.get("two_tone") is True:
        return "two-tone"
    if values.get("attention_mask") is True:
        if values.get("output") == "tanh":
            raise ValueError("an attention mask over a tanh output is no longer built")
        return "attention"
    return values.get("output", "sigmoid")


# Files written before a switch existed were made without it: residual blocks ended at x + body(x)
# and runs trained on every training digit.
FORMER_DEFAULTS = {"residual_relu": False}
FORMER_TRAIN_DEFAULTS = {"validation": False}


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides what a run computes. Defaults are the reference's."""

    domain_a: str = "mnist"  # one of ours (domains.py), or the name of a user's set (data/)
    domain_b: str = "colored-background"
    style: str = "threshold"  # how digits are rendered: the reference's threshold, or blend
    # What domain A trains on (None: ours, rendered here): a make-data file, or a user's own
    # set, a folder of images, a Keras-style .npz or IDX files (data/sources.py).
    data_a: str | None = None
    data_b: str | None = None
    size: int | None = None  # the side images are resized to (None: the data's own)
    pairing: str = "shuffled"  # all training digits in both domains, as the reference
    train_digits: int | None = None  # per domain; None = all of them
    epochs: int = 100
    steps: int | None = None  # cap on the total number of optimisation steps
    batch_size: int = 64  # pairs per step, over all processes
    lr: float = 2e-4  # Adam's
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_cycle: float = 10.0  # weight of the L1 cycle loss
    pool_size: int = 0  # history pool of fakes for the discriminators (the paper: 50)
    lr_decay_epochs: int = 0  # linear decay to 0 over the last N epochs (0: constant)
    seed: int = 0  # data split, weights, order, pools
    precision: str = "bf16"  # autocast, ~2x the fp32 step of the reference (docs/measurements.md)
    validation: bool = False  # True: hold the validation digits out (data/domain_arrays.py)
    # Additions, not in the reference (variants/); 0 is off.
    lambda_identity: float = 0.0  # the identity term's weight (variants/identity.py)
    lambda_shape: float = 0.0  # the shape term's weight (variants/shape_term.py)
    cycle_noise: float = 0.0  # noise std on fakes before the way back (variants/cycle_noise.py)
    average_generators: float = 0.0  # decay of the exported weight average (training/averaging.py)
    net: NetSettings = field(default_factory=NetSettings)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: object) -> TrainSettings:
        """Settings as `to_dict` wrote them (keys it does not know are ignored); validate them
        before use. Raises ValueError for anything that is not such a map."""
        if not isinstance(values, dict) or not isinstance(values.get("net", {}), dict):
            raise ValueError("settings are not a JSON object")
        known = {f.name for f in fields(cls)}
        net = NetSettings.from_dict(values.get("net", {}))
        values = {k: v for k, v in values.items() if k in known and k != "net"}
        return cls(**{**FORMER_TRAIN_DEFAULTS, **values}, net=net)

    @classmethod
    def preset(cls, name: str) -> TrainSettings:
        if name not in PRESETS:
            raise MnistganError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
        values = dict(PRESETS[name])
        net = NetSettings(**values.pop("net", {}))
        return cls(**values, net=net)

    def validate(self) -> TrainSettings:
        for name in ("domain_a", "domain_b", "style"):
            if not isinstance(getattr(self, name), str):
                raise MnistganError(f"--{name.replace('_', '-')} must be a name")
        for side in ("a", "b"):
            check_side(getattr(self, f"domain_{side}"), getattr(self, f"data_{side}"), side)
        check_style(self.style)
        problem = first_failure(self._checks()) or self.net.problem()
        if problem is not None:
            raise MnistganError(problem)
        return self

    def loss_weights(self) -> tuple[float, float, float]:
        return (self.lambda_cycle, self.lambda_identity, self.lambda_shape)

    def _checks(self) -> list[tuple[bool, str]]:
        optional_counts = (self.steps, self.train_digits)
        return [
            (self.pairing in PAIRINGS, f"--pairing must be one of {', '.join(PAIRINGS)}"),
            (self.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}"),
            (all(v is None or is_int(v) for v in optional_counts), "counts must be integers"),
            (is_int(self.epochs) and 1 <= self.epochs <= 100_000, "--epochs: 1 to 100000"),
            (self.steps is None or self.steps >= 1, "--steps must be at least 1"),
            (in_range(self.batch_size, 2, 65_536) and is_int(self.batch_size),
             "--batch-size: 2 to 65536 (batch norm needs a batch)"),
            (in_range(self.lr, 0, 10) and self.lr > 0, "--lr must be positive (and at most 10)"),
            (in_range(self.beta1, 0, 1) and in_range(self.beta2, 0, 1), "betas must be in [0, 1]"),
            (all(in_range(w, 0, 1e6) for w in self.loss_weights()),
             "loss weights must be >= 0"),
            (is_int(self.pool_size) and 0 <= self.pool_size <= 10_000, "--pool-size: 0 to 10000"),
            (in_range(self.cycle_noise, 0, 100), "--cycle-noise must be >= 0"),
            (in_range(self.average_generators, 0, 1) and self.average_generators < 1,
             "--average-generators must be in [0, 1) (0: off)"),
            (is_int(self.lr_decay_epochs) and 0 <= self.lr_decay_epochs <= self.epochs,
             "--lr-decay-epochs must be in [0, epochs]"),
            (self.train_digits is None or self.train_digits >= 1, "--train-digits must be >= 1"),
            (is_int(self.seed) and 0 <= self.seed <= MAX_SEED, f"--seed: 0 to {MAX_SEED}"),
            (all(v is None or isinstance(v, str) for v in (self.data_a, self.data_b)),
             "data files must be paths"),
            (isinstance(self.validation, bool), "validation must be a boolean"),
            (self.size is None or is_training_size(self.size),
             f"--size: {MIN_SIZE} to {MAX_SIZE} pixels, a multiple of 4"),
        ]  # fmt: skip


def check_side(domain: str, data: str | None, side: str) -> None:
    """One of our domains, or a user's set by a name that is not one of ours, with its data."""
    if domain in DOMAINS:
        return
    if data is None:
        get_domain(domain)  # one line naming our domains
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", domain):
        raise MnistganError(f"--domain-{side} {domain[:64]!r}: a name of letters, digits, . _ -")


@dataclass(frozen=True)
class RunOptions:
    """How a run goes; none of it changes what a step computes in real arithmetic."""

    out: Path
    device: torch.device | str = "cpu"
    resume: bool = False
    checkpoint_every: int = 0  # also checkpoint every N steps (0: at epoch ends only)
    log_every: int = 10  # read the losses back every N steps
    channels_last: bool = True  # NHWC: faster oneDNN and cuDNN convolutions
    kernels: str = "auto"  # auto: the CPU speed kit on the CPU, PyTorch's layers elsewhere
    side_by_side: bool = True  # with the speed kit, each update's halves on two CPU threads
    eval_every: int = 0  # score held-out digits every N steps (0: never)
    eval_limit: int = 1000
    tensorboard: Path | None = None  # also log losses, learning rate and samples there

    def kernels_for(self, device: torch.device) -> str:
        """plain or fast: the speed kit pays where it was built for, CPU training."""
        if self.kernels not in KERNELS:
            raise MnistganError(f"--kernels {self.kernels}: choose one of {', '.join(KERNELS)}")
        if self.kernels == "auto":
            return "fast" if device.type == "cpu" else "plain"
        return self.kernels


def resolve_device(name: str) -> torch.device:
    """auto (CUDA when there is one), cpu, cuda or cuda:N; a clear error for anything else."""
    import torch  # here, not at the top: `mnistgan --help` should not wait for torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MnistganError(f"--device {name}: CUDA is not available on this machine")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise MnistganError(f"--device {name}: choose auto, cpu or cuda")
    return torch.device(name)


def check_seed(seed: int) -> None:
    """`make-data --seed`: the range the generators take, or one clear line."""
    if not 0 <= seed <= MAX_SEED:
        raise MnistganError(f"--seed {seed}: choose a seed from 0 to {MAX_SEED}")
