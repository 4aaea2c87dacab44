"""The settings schema: what a run computes, field by field, each declared once.

`TrainSettings` (with its `NetSettings`) decides what a run computes; it is written to
config.json and into every checkpoint, and weights files carry it, so a file alone rebuilds its
model. `TrainSettings()` is the reference design and schedule; presets (presets.py) change some
of it. Each field is a `setting` (fields.py): its default, its check and its `train` flag, so
validation and the command line are read from here. The reference's fields are written below;
each addition's fields are declared in its own file and mixed in after them, in the registry's
order (variants/registry.py). This schema reads no file.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from mnist_cyclegan.domains import DOMAINS, STYLES, check_style, get_domain
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings.fields import (
    ADDITIONS,
    MAX_SEED,
    MAX_SIZE,
    MIN_SIZE,
    REFERENCE_KNOBS,
    RUN,
    SCHEDULE,
    Check,
    Flag,
    boolean,
    check_of,
    first_failure,
    integer,
    is_training_size,
    number,
    one_of,
    setting,
    text_or_none,
)
from mnist_cyclegan.settings.presets import PRESETS
from mnist_cyclegan.variants import registry

NORMS = ("batch", "instance")
PAIRINGS = ("disjoint", "shuffled")
PRECISIONS = ("fp32", "bf16")
REFERENCE_HEADS = ("sigmoid", "tanh")
HEADS = REFERENCE_HEADS + tuple(registry.heads())  # an addition's head is its file's


def field_problems(settings: object, names: tuple[str, ...] = ()) -> list[tuple[bool, str]]:
    """Each field's own check (of the fields `names`, where given), in field order; nested
    settings check themselves."""
    return [
        (check.holds(getattr(settings, f.name)), check.message)
        for f in fields(settings)
        if (check := check_of(f)) is not None and (not names or f.name in names)
    ]


@dataclass(frozen=True)
class ReferenceNet:
    """The networks as the reference design builds them."""

    gen_width: int = setting(  # 32 -> 64 -> 128 channels
        32, integer(1, 256, "--gen-width: 1 to 256"), Flag("Generator base width.", REFERENCE_KNOBS)
    )
    res_blocks: int = setting(
        6, integer(0, 64, "--res-blocks: 0 to 64"), Flag("Residual blocks.", REFERENCE_KNOBS)
    )
    disc_width: int = setting(  # 64 -> 128 -> 256 -> 512
        64,
        integer(1, 256, "--disc-width: 1 to 256"),
        Flag("Discriminator base width.", REFERENCE_KNOBS),
    )
    norm: str = setting(
        "batch", one_of(NORMS, "--norm"), Flag("Normalisation.", REFERENCE_KNOBS, choices=NORMS)
    )
    # Keras' moving-average decay (PyTorch momentum = 1 - decay) and epsilon: constants.
    bn_decay: float = setting(0.999, number(0, 1, "bn_decay must be in [0, 1)", below_high=True))
    norm_eps: float = setting(1e-3, number(0, 1, "norm_eps must be in (0, 1]", above_low=True))
    final_norm: bool = setting(  # the reference normalises the last conv before its output
        True, boolean(), Flag("Normalise the generator's last conv.", REFERENCE_KNOBS)
    )
    residual_relu: bool = setting(  # each residual block ends with ReLU(x + body(x))
        True, boolean(), Flag("ReLU after each residual sum.", REFERENCE_KNOBS)
    )
    # The generator's output by name: the reference's sigmoid or tanh, or an addition's head.
    head: str = setting(
        "sigmoid",
        one_of(HEADS, "--head"),
        Flag(
            "The generator's output: sigmoid or tanh (the design's), attention (copies input "
            "pixels by a mask), two-tone (draws the figure, painted in real target colours).",
            ADDITIONS,
            choices=HEADS,
        ),
    )


@dataclass(frozen=True)
class NetSettings(*reversed(registry.net_settings()), ReferenceNet):
    """Architecture settings; stored with every weights file so it alone rebuilds the model."""

    def is_reference(self) -> bool:
        """Whether these settings build the reference's own generator, nothing added to it:
        a reference head, and every field an addition adds at its default (off)."""
        added = [f for mixin in registry.net_settings() for f in fields(mixin)]
        untouched = all(getattr(self, f.name) == f.default for f in added)
        return self.head in REFERENCE_HEADS and untouched

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
        forged file cannot ask for a network that fills the memory), then the checks across
        fields the variants declare, once every field has passed its own."""
        problem = first_failure(field_problems(self))
        checks = (v.net_problem for v in registry.VARIANTS if v.net_problem is not None)
        return problem or next(filter(None, (check(self) for check in checks)), None)


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


# Files written before a switch existed were made without it: residual blocks ended at x + body(x)
# and runs trained on every training digit.
FORMER_DEFAULTS = {"residual_relu": False}
FORMER_TRAIN_DEFAULTS = {"validation": False}
NAMES = ("domain_a", "domain_b", "style")  # checked first: the other checks name them


@dataclass(frozen=True)
class ReferenceTraining:
    """What the reference trains on and how: its data, schedule and losses."""

    # One of ours (domains.py), or the name of a user's set (data/).
    domain_a: str = setting(
        "mnist",
        Check(lambda v: isinstance(v, str), "--domain-a must be a name"),
        Flag("Domain A.", RUN, choices=DOMAINS, metavar="DOMAIN"),
    )
    domain_b: str = setting(
        "colored-background",
        Check(lambda v: isinstance(v, str), "--domain-b must be a name"),
        Flag("Domain B.", RUN, choices=DOMAINS, metavar="DOMAIN"),
    )
    # How digits are rendered: the reference's threshold, or blend.
    style: str = setting(
        "threshold",
        Check(lambda v: isinstance(v, str), "--style must be a name"),
        Flag("How digits are rendered.", RUN, choices=STYLES),
    )
    # What a side trains on (None: ours, rendered here): a make-data file, or a user's own
    # set, a folder of images, a Keras-style .npz or IDX files (data/sources.py).
    data_a: str | None = setting(
        None,
        text_or_none("data files must be paths"),
        Flag(
            "Domain A's images: a folder of images (labels from class subfolders or labels.csv; "
            "trainA/ testA/ as CycleGAN lays them out), a Keras-style .npz (x_train, optional "
            "y_train, x_test, y_test), a folder of IDX files, a make-data file, or one of our "
            "domain names.",
            RUN,
            metavar="PATH|DOMAIN",
            path=True,
        ),
    )
    data_b: str | None = setting(
        None,
        text_or_none("data files must be paths"),
        Flag("Domain B's images, as --data-a.", RUN, metavar="PATH|DOMAIN", path=True),
    )
    size: int | None = setting(
        None,
        Check(
            lambda v: v is None or is_training_size(v),
            f"--size: {MIN_SIZE} to {MAX_SIZE} pixels, a multiple of 4",
        ),
        Flag(
            "Crop and resize every image to this side, 16 to 128 pixels, a multiple of 4 "
            "(none: the data's own, where both sides share one).",
            RUN,
        ),
    )
    seed: int = setting(  # data split, weights, order, pools
        0,
        integer(0, MAX_SEED, f"--seed: 0 to {MAX_SEED}"),
        Flag("Seed of the data split, the weights and the order.", RUN),
    )
    epochs: int = setting(100, integer(1, 100_000, "--epochs: 1 to 100000"), Flag("Epochs.", RUN))
    steps: int | None = setting(  # a cap on the total number of optimisation steps
        None,
        integer(1, 10**12, "--steps must be at least 1", optional=True),
        Flag("Stop after N optimisation steps in all (also on resume).", RUN),
    )
    batch_size: int = setting(  # pairs per step, over all processes
        64,
        integer(2, 65_536, "--batch-size: 2 to 65536 (batch norm needs a batch)"),
        Flag("Pairs per step.", SCHEDULE),
    )
    lr: float = setting(
        2e-4,
        number(0, 10, "--lr must be positive (and at most 10)", above_low=True),
        Flag("Adam learning rate.", SCHEDULE),
    )
    # Adam's betas: constants (beta1 0.5 is the design's).
    beta1: float = setting(0.5, number(0, 1, "betas must be in [0, 1]"))
    beta2: float = setting(0.999, number(0, 1, "betas must be in [0, 1]"))
    lr_decay_epochs: int = setting(  # linear decay to 0 over the last N epochs (0: constant)
        0,
        integer(0, 100_000, "--lr-decay-epochs must be in [0, epochs]"),
        Flag("Linear decay to 0 over the last N epochs.", SCHEDULE),
    )
    pairing: str = setting(  # all training digits in both domains, as the reference
        "shuffled",
        one_of(PAIRINGS, "--pairing"),
        Flag(
            "disjoint: A and B from disjoint halves of the digits; shuffled: all digits in both.",
            SCHEDULE,
            choices=PAIRINGS,
        ),
    )
    train_digits: int | None = setting(  # per domain; None = all of them
        None,
        integer(1, 10**9, "--train-digits must be >= 1", optional=True),
        Flag("Use only N training digits per domain.", SCHEDULE),
    )
    # True: hold the validation digits out (data/domain_arrays.py).
    validation: bool = setting(
        False,
        boolean("validation must be a boolean"),
        Flag("Leave the validation digits out of training.", SCHEDULE),
    )
    precision: str = setting(  # autocast, ~2x the fp32 step (docs/measurements.md)
        "bf16", one_of(PRECISIONS, "--precision"), Flag("Arithmetic.", SCHEDULE, choices=PRECISIONS)
    )
    lambda_cycle: float = setting(  # weight of the L1 cycle loss
        10.0,
        number(0, 1e6, "loss weights must be >= 0"),
        Flag("Cycle loss weight.", REFERENCE_KNOBS),
    )
    pool_size: int = setting(  # history pool of fakes for the discriminators (the paper: 50)
        0,
        integer(0, 10_000, "--pool-size: 0 to 10000"),
        Flag("History pool of fakes (the paper: 50).", REFERENCE_KNOBS),
    )
    net: NetSettings = setting(  # frozen, so one default serves every run
        NetSettings(), Check(lambda v: isinstance(v, NetSettings), "net must be network settings")
    )


@dataclass(frozen=True)
class TrainSettings(*reversed(registry.train_settings()), ReferenceTraining):
    """Everything that decides what a run computes. Defaults are the reference's."""

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
        """These settings, or one line naming the first that is wrong: the sides' names and
        data first, then each field's own check, then the checks between fields."""
        problem = first_failure(field_problems(self, NAMES))
        if problem is None:
            for side in ("a", "b"):
                check_side(getattr(self, f"domain_{side}"), getattr(self, f"data_{side}"), side)
            check_style(self.style)
            problem = first_failure(field_problems(self)) or self.net.problem()
        if problem is None and self.lr_decay_epochs > self.epochs:
            problem = "--lr-decay-epochs must be in [0, epochs]"
        if problem is None:
            checks = (v.train_problem for v in registry.VARIANTS if v.train_problem is not None)
            problem = next(filter(None, (check(self) for check in checks)), None)
        if problem is not None:
            raise MnistganError(problem)
        return self


def check_side(domain: str, data: str | None, side: str) -> None:
    """One of our domains, or a user's set by a name that is not one of ours, with its data."""
    if domain in DOMAINS:
        return
    if data is None:
        get_domain(domain)  # one line naming our domains
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", domain):
        raise MnistganError(f"--domain-{side} {domain[:64]!r}: a name of letters, digits, . _ -")
