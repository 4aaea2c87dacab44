"""Training settings as one dataclass: written to config.json and into every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from mnist_cyclegan.domains import check_style, get_domain
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.nets import NORMS, OUTPUTS, NetSettings

PAIRINGS = ("disjoint", "shuffled")
# Presets: `reference` is the reference design and schedule. `quick` is our fastest way to a
# good translator on a CPU (see BENCHMARKS.md): narrower networks, fewer residual blocks, no
# norm on the generator's last layer (so a sigmoid can reach pure black and white without
# waiting for a batch-norm scale to grow at lr-sized steps), a long skip that carries the
# full-resolution stem past the bottleneck (stroke placement), an input channel that reads each
# pixel's distance from the image's background colour (a digit on a pale background), an
# attention mask that lets the output copy the input's pixels (the digit's core), the CycleGAN
# paper's identity term (ties outputs to the pixels the input shows), batch 64 at a learning
# rate of 1e-3 decayed linearly to zero over the last two of three epochs, and bf16 autocast.
PRESETS: dict[str, dict] = {
    "reference": {},
    "quick": {
        "batch_size": 64,
        "lr": 1e-3,
        "epochs": 3,
        "lr_decay_epochs": 2,
        "lambda_identity": 5.0,
        "net": {
            "gen_width": 16,
            "res_blocks": 3,
            "disc_width": 24,
            "final_norm": False,
            "long_skip": True,
            "median_offset": True,
            "attention_mask": True,
        },
    },
}
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides what a run computes. Defaults are the reference's."""

    domain_a: str = "mnist"
    domain_b: str = "colored-background"
    style: str = "threshold"
    data_a: str | None = None
    data_b: str | None = None
    pairing: str = "disjoint"
    train_digits: int | None = None  # per domain; None = all of its half
    epochs: int = 100
    steps: int | None = None  # cap on the total number of optimisation steps
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.0
    pool_size: int = 0
    lr_decay_epochs: int = 0
    cycle_noise: float = 0.0  # std of noise on fakes before they are translated back (0: off)
    seed: int = 0
    precision: str = "bf16"  # ~2x the fp32 step on the reference design; see BENCHMARKS.md
    net: NetSettings = field(default_factory=NetSettings)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        values["net"] = NetSettings(**values.get("net", {}))
        return cls(**values)

    @classmethod
    def preset(cls, name: str) -> TrainSettings:
        if name not in PRESETS:
            raise MnistganError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
        values = dict(PRESETS[name])
        net = NetSettings(**values.pop("net", {}))
        return cls(**values, net=net)

    def validate(self) -> TrainSettings:
        get_domain(self.domain_a)
        get_domain(self.domain_b)
        check_style(self.style)
        checks = [
            (self.pairing in PAIRINGS, f"--pairing must be one of {', '.join(PAIRINGS)}"),
            (self.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}"),
            (self.net.norm in NORMS, f"--norm must be one of {', '.join(NORMS)}"),
            (self.net.output in OUTPUTS, f"--output must be one of {', '.join(OUTPUTS)}"),
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.steps is None or self.steps >= 1, "--steps must be at least 1"),
            (self.batch_size >= 2, "--batch-size must be at least 2 (batch norm needs a batch)"),
            (self.lr > 0, "--lr must be positive"),
            (self.lambda_cycle >= 0 and self.lambda_identity >= 0, "loss weights must be >= 0"),
            (self.pool_size >= 0, "--pool-size must be >= 0"),
            (self.cycle_noise >= 0, "--cycle-noise must be >= 0"),
            (0 <= self.lr_decay_epochs <= self.epochs, "--lr-decay-epochs must be in [0, epochs]"),
            (self.train_digits is None or self.train_digits >= 1, "--train-digits must be >= 1"),
            (self.net.gen_width >= 1 and self.net.disc_width >= 1, "widths must be >= 1"),
            (self.net.res_blocks >= 0, "--res-blocks must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise MnistganError(message)
        return self
