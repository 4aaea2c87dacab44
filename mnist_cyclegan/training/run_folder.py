"""The run folder: which files a run writes, and the guards on whose folder it is.

config.json, losses.csv, losses.png, samples/epoch-NNN.png, weights.safetensors (generators
only, enough to deploy), checkpoint.safetensors (enough to resume) and eval.csv with
`--eval-every`. Every file is written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from mnist_cyclegan.atomic import write_text_atomic
from mnist_cyclegan.cyclegan.step import LOSS_NAMES
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.plots import in_a_row, panel, save_image


@dataclass
class RunFiles:
    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "config.json"

    @property
    def losses_csv(self) -> Path:
        return self.folder / "losses.csv"

    @property
    def losses_png(self) -> Path:
        return self.folder / "losses.png"

    @property
    def weights(self) -> Path:
        return self.folder / "weights.safetensors"

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint.safetensors"

    @property
    def eval_csv(self) -> Path:
        return self.folder / "eval.csv"

    def sample(self, epoch: int) -> Path:
        return self.folder / "samples" / f"epoch-{epoch:03d}.png"

    def check_for(self, *, resume: bool) -> None:
        """A new run needs a folder without a run in it; a resumed one, the run's checkpoint."""
        if not resume and self.checkpoint.exists():
            raise MnistganError(
                f"{self.folder}: already holds a run (use --resume or another --out)"
            )
        if resume and not self.checkpoint.exists():
            raise MnistganError(f"{self.checkpoint}: no checkpoint to resume from")

    def prepare(self, config: dict) -> None:
        """Create the folder, remove what a process killed mid-write left, write config.json."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.rglob(".*.tmp"):
            stale.unlink(missing_ok=True)
        write_text_atomic(self.config, json.dumps(config, indent=2, sort_keys=True) + "\n")


def write_losses(files: RunFiles, history: torch.Tensor) -> None:
    """losses.csv (a row per logged step) and losses.png (cycle, and each domain's G vs D)."""
    rows = history.tolist()
    lines = [",".join(("step", "epoch", *LOSS_NAMES))]
    lines += [
        ",".join([str(int(r[0])), str(int(r[1]))] + [f"{v:.6g}" for v in r[2:]]) for r in rows
    ]
    write_text_atomic(files.losses_csv, "\n".join(lines) + "\n")
    steps = [r[0] for r in rows]
    column = {name: [r[2 + i] for r in rows] for i, name in enumerate(LOSS_NAMES)}
    sheet = in_a_row(
        [
            panel(steps, {"cycle": column["cycle"]}, "cycle loss (L1, both ways)"),
            panel(steps, {"G_ba (makes A)": column["g_gan_ba"], "D_a": column["d_a"]}, "domain A"),
            panel(steps, {"G_ab (makes B)": column["g_gan_ab"], "D_b": column["d_b"]}, "domain B"),
        ]
    )
    save_image(files.losses_png, sheet)
