"""The resumable checkpoint: all four networks, both optimisers, step, RNG and loss history
(and the averaged generators of a run that keeps them, the task networks and their optimiser
of a run that trains them).

Stored as safetensors (tensors) plus JSON metadata (settings and step), so resuming never
unpickles anything and a resumed CPU run is bit-identical to an unbroken one. Before a byte of
tensor data is read, every tensor the header lists is compared with what this run's networks,
optimisers and pools hold (names, dtypes, shapes): a forged or damaged checkpoint is one clear
line, never an optimiser walking a moment of the wrong size. The loss history's columns are
stored by name, so a run resumes from a file written before the loss log gained a column (0
where it had none) or after it lost one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mnist_cyclegan.cyclegan.networks import Networks
from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings.fields import in_range
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.tensor_files import TensorEntry, TensorFile, open_tensor_file, save_tensors
from mnist_cyclegan.training.run_folder import LOSS_NAMES
from mnist_cyclegan.variants.task_network import TaskNetworks
from mnist_cyclegan.variants.weight_average import GeneratorAverage

CHECKPOINT_FORMAT = "mnistgan-checkpoint"
MAX_STEP = 10**12
MAX_LOSS_COLUMNS = 64
Optimizers = tuple[torch.optim.Optimizer, torch.optim.Optimizer]


@dataclass
class Progress:
    """Where a run stands: the step count, the loss log so far, and this epoch's running sums."""

    step: int
    history: torch.Tensor  # rows of (step, epoch, *losses), float64
    epoch_sums: torch.Tensor  # per-loss sums over the current epoch's steps
    nonfinite: torch.Tensor  # a 0-d bool: has any loss this epoch been NaN or infinite

    def last_losses(self) -> dict[str, float]:
        """The last logged row of losses by name; NaN for each before the first log."""
        last = self.history[-1, 2:].tolist() if len(self.history) else [math.nan] * len(LOSS_NAMES)
        return dict(zip(LOSS_NAMES, last, strict=True))


def module_tensors(
    nets: Networks, average: GeneratorAverage | None, task: TaskNetworks | None = None
) -> dict[str, nn.Module]:
    """The modules a checkpoint stores, by the prefix of their tensors' names."""
    modules = {f"net.{name}": module for name, module in nets.named().items()}
    if average is not None:
        modules.update({f"avg.{name}": module for name, module in average.modules.items()})
    if task is not None:
        modules["task"] = task
    return modules


def named_optimizers(
    optimizers: Optimizers, task: TaskNetworks | None = None
) -> dict[str, torch.optim.Optimizer]:
    """The optimisers a checkpoint stores, by the prefix of their tensors' names."""
    named = {"opt_g": optimizers[0], "opt_d": optimizers[1]}
    if task is not None:
        named["opt_t"] = task.optimizer
    return named


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    tensors = {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            tensors[f"{prefix}.{index}.{key}"] = torch.as_tensor(value)
    return tensors


def save_checkpoint(
    path: Path,
    *,
    settings: TrainSettings,
    nets: Networks,
    optimizers: Optimizers,
    pools: tuple[ImagePool, ImagePool],
    progress: Progress,
    average: GeneratorAverage | None = None,
    task: TaskNetworks | None = None,
) -> None:
    """Everything a bit-identical resume needs, as one safetensors file written atomically."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in module_tensors(nets, average, task).items():
        tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
    optimizers_by_name = named_optimizers(optimizers, task)
    for prefix, optimizer in optimizers_by_name.items():
        tensors.update(optimizer_tensors(prefix, optimizer))
    tensors.update(pools[0].state("pool_a"))
    tensors.update(pools[1].state("pool_b"))
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["history"] = progress.history
    tensors["epoch_sums"] = progress.epoch_sums
    tensors["nonfinite"] = progress.nonfinite.to(torch.uint8).reshape(1)
    meta = {
        "settings": settings.to_dict(),
        "step": progress.step,
        **{
            f"{prefix}_groups": optimizer.state_dict()["param_groups"]
            for prefix, optimizer in optimizers_by_name.items()
        },
        "loss_columns": list(LOSS_NAMES),
    }
    save_tensors(path, tensors, CHECKPOINT_FORMAT, meta)


# The loss log's columns when checkpoints did not yet name them.
UNNAMED_COLUMNS = ("g_total", "g_gan_ab", "g_gan_ba", "cycle", "identity", "d_a", "d_b")


def stored_columns(file: TensorFile) -> tuple[str, ...]:
    """The names of the file's loss columns: as it records them, or, in a file from before
    columns had names, the columns the log had then."""
    columns = file.meta.get("loss_columns", list(UNNAMED_COLUMNS))
    if (
        not isinstance(columns, list)
        or not 0 < len(columns) <= MAX_LOSS_COLUMNS
        or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in columns)
        or len(set(columns)) != len(columns)
    ):
        raise MnistganError(f"{file.path}: checkpoint loss columns unusable")
    return tuple(columns)


def by_name(values: torch.Tensor, columns: tuple[str, ...]) -> torch.Tensor:
    """`values` (…×len(columns), the last axis the file's loss columns) in this run's columns
    (LOSS_NAMES): the same tensor where they are the same, else a column of zeros for each
    the file lacks; a column the file has and this run does not log is dropped."""
    if columns == LOSS_NAMES:
        return values
    out = values.new_zeros((*values.shape[:-1], len(LOSS_NAMES)))
    for index, name in enumerate(LOSS_NAMES):
        if name in columns:
            out[..., index] = values[..., columns.index(name)]
    return out


def read_checkpoint_settings(path: Path) -> TrainSettings:
    """The settings a run was started with, from its checkpoint's header alone, validated."""
    meta = open_tensor_file(path, CHECKPOINT_FORMAT).meta
    try:
        return TrainSettings.from_dict(meta["settings"]).validate()
    except (KeyError, TypeError, ValueError, MnistganError) as error:
        message = str(error) if not isinstance(error, KeyError) else f"no {error}"
        raise MnistganError(f"{path}: checkpoint settings unusable ({message:.160})") from None


def expected_entries(
    nets: Networks,
    optimizers: Optimizers,
    pools: tuple[ImagePool, ImagePool],
    image_size: tuple[int, int] = (28, 28),
    average: GeneratorAverage | None = None,
    columns: tuple[str, ...] = LOSS_NAMES,
    task: TaskNetworks | None = None,
) -> dict[str, TensorEntry]:
    """Every tensor a checkpoint of this run holds, its loss log in `columns`; None marks a
    size that grows as it runs."""
    expected = {
        f"{prefix}.{key}": TensorEntry.of(value)
        for prefix, module in module_tensors(nets, average, task).items()
        for key, value in module.state_dict().items()
    }
    for prefix, optimizer in named_optimizers(optimizers, task).items():
        for index, param in enumerate(optimizer.param_groups[0]["params"]):
            expected[f"{prefix}.{index}.step"] = TensorEntry(torch.float32, ())
            for moment in ("exp_avg", "exp_avg_sq"):
                expected[f"{prefix}.{index}.{moment}"] = TensorEntry(
                    param.dtype, tuple(param.shape)
                )
    generator_state = TensorEntry.of(torch.Generator().get_state())
    for prefix, generator in (("pool_a", nets.g_ba), ("pool_b", nets.g_ab)):  # fakes of A, B
        expected[f"{prefix}.rng"] = generator_state
        images = (None, generator.out_channels, *image_size)
        expected[f"{prefix}.images"] = TensorEntry(None, images)  # fp32, or bf16 fakes
    expected["rng.torch"] = TensorEntry.of(torch.get_rng_state())
    expected["history"] = TensorEntry(torch.float64, (None, 2 + len(columns)))
    expected["epoch_sums"] = TensorEntry(torch.float32, (len(columns),))
    expected["nonfinite"] = TensorEntry(torch.uint8, (1,))
    return expected


def check_checkpoint(
    file: TensorFile,
    nets: Networks,
    optimizers: Optimizers,
    pools: tuple[ImagePool, ImagePool],
    image_size: tuple[int, int],
    average: GeneratorAverage | None = None,
    task: TaskNetworks | None = None,
) -> int:
    """Refuse a checkpoint that does not hold exactly this run's tensors; return its step."""
    optional = frozenset({"pool_a.images", "pool_b.images"})
    columns = stored_columns(file)
    expected = expected_entries(nets, optimizers, pools, image_size, average, columns, task)
    file.check(expected, optional)
    for prefix, optimizer in named_optimizers(optimizers, task).items():
        problem = groups_problem(file.meta.get(f"{prefix}_groups"), optimizer)
        if problem is not None:
            raise MnistganError(f"{file.path}: checkpoint {prefix} groups unusable ({problem})")
    step = file.meta.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or not 0 < step <= MAX_STEP:
        raise MnistganError(f"{file.path}: checkpoint step {step!r} is not a step count")
    for prefix, pool in (("pool_a", pools[0]), ("pool_b", pools[1])):
        entry = file.entries.get(f"{prefix}.images")
        if entry is not None and entry.dtype not in (torch.float32, torch.bfloat16):
            raise MnistganError(f"{file.path}: {prefix} holds {entry.describe()} images")
        if entry is not None and not 0 < entry.shape[0] <= pool.size:
            raise MnistganError(
                f"{file.path}: {prefix} holds {entry.shape[0]} images, its size is {pool.size}"
            )
    if file.entries["history"].shape[0] > step + 1:
        raise MnistganError(f"{file.path}: the loss history is longer than the run")
    return step


def groups_problem(groups: object, optimizer: torch.optim.Optimizer) -> str | None:
    """What is wrong with an optimiser's parameter groups as a checkpoint records them: one
    group per group of this run's optimiser, over the same parameters, with Adam's numbers.
    They are not loaded (the run's own settings are), but a file that garbles them is not a
    checkpoint we wrote, and nothing else of it should be trusted."""
    if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
        return f"{len(optimizer.param_groups)} group(s) expected"
    start = 0
    for group, ours in zip(groups, optimizer.param_groups, strict=True):
        count = len(ours["params"])
        if not isinstance(group, dict) or group.get("params") != list(range(start, start + count)):
            return f"a group over other parameters than this run's {count}"
        start += count
        betas = group.get("betas")
        if not (
            isinstance(betas, list) and len(betas) == 2 and all(in_range(b, 0, 1) for b in betas)
        ):
            return f"betas {betas!r} are not two numbers in [0, 1]"
        if not all(in_range(group.get(key), 0, 1e6) for key in ("lr", "eps")):
            return "lr and eps must be numbers >= 0"
    return None


def restore_optimizer(
    prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]
) -> None:
    """Adam's state from the file, under this run's own hyper-parameters (the settings they
    come from are the run's; the learning rate is set by the schedule every step)."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            index, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    groups = optimizer.state_dict()["param_groups"]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    # Safetensors stores tensors contiguous, but a channels-last weight's moments were created
    # channels-last. Fused Adam walks parameter and moments as flat memory, so a moment restored
    # in the other layout would be updated against the wrong elements; give each its
    # parameter's strides back (the unfused Adam did not care, the result is the same values).
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            moments = optimizer.state.get(parameter, {})
            for key, value in moments.items():
                if torch.is_tensor(value) and value.shape == parameter.shape:
                    moments[key] = torch.empty_like(parameter, dtype=value.dtype).copy_(value)


def load_checkpoint(
    path: Path,
    *,
    nets: Networks,
    optimizers: Optimizers,
    pools: tuple[ImagePool, ImagePool],
    device: torch.device,
    image_size: tuple[int, int] = (28, 28),
    average: GeneratorAverage | None = None,
    task: TaskNetworks | None = None,
) -> Progress:
    """Restore everything `save_checkpoint` wrote, in place, once the file's header has been
    checked against this run; return the progress."""
    file = open_tensor_file(path, CHECKPOINT_FORMAT)
    step = check_checkpoint(file, nets, optimizers, pools, image_size, average, task)
    tensors = file.load()
    for prefix, module in module_tensors(nets, average, task).items():
        start = prefix + "."
        module.load_state_dict(
            {k[len(start) :]: v for k, v in tensors.items() if k.startswith(start)}
        )
    for prefix, optimizer in named_optimizers(optimizers, task).items():
        restore_optimizer(prefix, optimizer, tensors)
    try:
        pools[0].load_state(tensors, "pool_a", device)
        pools[1].load_state(tensors, "pool_b", device)
        torch.set_rng_state(tensors["rng.torch"])
    except RuntimeError as error:
        raise MnistganError(f"{path}: random-number state unusable ({error!s:.100})") from None
    columns = stored_columns(file)
    steps_and_epochs, losses = tensors["history"][:, :2], tensors["history"][:, 2:]
    return Progress(
        step=step,
        history=torch.cat([steps_and_epochs, by_name(losses, columns)], dim=1),
        epoch_sums=by_name(tensors["epoch_sums"], columns).to(device),
        nonfinite=tensors["nonfinite"].to(device).bool().reshape(()),
    )
