"""How a run goes, as against what it computes (schema.py), and the device it runs on.

`RunOptions` decides only where the run writes, on what device, how often it saves and logs,
and which kernels it uses: a run resumed with other options computes the same thing. Its
fields are `setting`s too, so `train`'s speed and logging options are read from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.settings.fields import MAX_SEED, RUN, SPEED, Flag, setting

if TYPE_CHECKING:
    import torch

KERNELS = ("auto", "plain", "fast")


@dataclass(frozen=True)
class RunOptions:
    """How a run goes; none of it changes what a step computes in real arithmetic."""

    out: Path = setting(flag=Flag("Run folder. (default: runs/A-to-B)", RUN))
    device: torch.device | str = setting(
        "auto", flag=Flag("auto, cpu, cuda or cuda:N.", RUN, metavar="DEVICE")
    )
    resume: bool = setting(False, flag=Flag("Continue the run in --out from its checkpoint.", RUN))
    # auto: the CPU speed kit on the CPU, PyTorch's layers elsewhere.
    kernels: str = setting(
        "auto",
        flag=Flag(
            "auto: the CPU speed kit on a CPU, PyTorch's layers elsewhere.", SPEED, choices=KERNELS
        ),
    )
    side_by_side: bool = setting(  # with the speed kit, each update's halves on two CPU threads
        True, flag=Flag("With the speed kit, each update's two halves on two threads.", SPEED)
    )
    channels_last: bool = setting(  # NHWC: faster oneDNN and cuDNN convolutions
        True, flag=Flag("NHWC memory layout (faster convolutions).", SPEED)
    )
    checkpoint_every: int = setting(
        0, flag=Flag("Also checkpoint every N steps (0: at epoch ends only).", SPEED)
    )
    log_every: int = setting(10, flag=Flag("Read the losses back every N steps.", SPEED))
    eval_every: int = setting(
        0,
        flag=Flag(
            "Score 1,000 held-out digits every N steps (validation digits where the run leaves "
            "them out; 0: never).",
            SPEED,
        ),
    )
    eval_limit: int = setting(1000)  # digits each score reads
    tensorboard: Path | None = setting(
        None, flag=Flag("Also log losses, learning rate and samples for TensorBoard here.", SPEED)
    )

    def __post_init__(self) -> None:
        """What a command line may give out of range, brought into it: logging at least every
        step, scoring never below 0."""
        object.__setattr__(self, "log_every", max(1, self.log_every))
        object.__setattr__(self, "eval_every", max(0, self.eval_every))

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
