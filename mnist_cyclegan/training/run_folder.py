"""The run folder: which files a run writes, and the guards on whose folder it is.

config.json, losses.csv, losses.png, samples/epoch-NNN.png, weights.safetensors (generators
only, enough to deploy), checkpoint.safetensors (enough to resume) and eval.csv with
`--eval-every`. Every file is written atomically. While a run writes the folder it holds a
lock on `.mnistgan-run.lock` there (removed when the run ends), so a second `train` on the
same folder is refused, naming the holder; a new run starts only in a folder that holds
nothing but a run's own files.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mnist_cyclegan.atomic import TEMPORARY, remove_stale_temporaries, write_text_atomic
from mnist_cyclegan.cyclegan.step import DISCRIMINATOR_LOSSES, GENERATOR_LOSSES
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.plots import in_a_row, panel, save_image
from mnist_cyclegan.variants.registry import logged_columns

try:
    import fcntl
except ImportError:  # not on Windows: runs there are not locked
    fcntl = None

LOCK_NAME = ".mnistgan-run.lock"
RUN_FILES = {
    "config.json",
    "losses.csv",
    "losses.png",
    "weights.safetensors",
    "checkpoint.safetensors",
    "eval.csv",
    "samples",
    LOCK_NAME,
}
SAMPLE = re.compile(r"^epoch-\d{3,}\.png$")

# The columns of the loss log (losses.csv, the checkpoint's history): the step's losses, and
# the columns the variants add (variants/registry.py; each 0 where it is off).
LOGGED_TERMS = logged_columns()
LOSS_NAMES = (*GENERATOR_LOSSES, *LOGGED_TERMS, *DISCRIMINATOR_LOSSES)


@dataclass
class RunFiles:
    folder: Path
    _lock: object | None = field(default=None, repr=False)
    _created: bool = field(default=False, repr=False)  # by this run: remove it if it fails

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
        """A new run needs a folder without a run in it, or anything else of the user's; a
        resumed one, the run's checkpoint (whatever else the user keeps beside it stays)."""
        if self.folder.exists() and not self.folder.is_dir():
            raise MnistganError(f"{self.folder}: is a file, not a run folder")
        if not resume and self.checkpoint.exists():
            raise MnistganError(
                f"{self.folder}: already holds a run (use --resume or another --out)"
            )
        if resume and not self.checkpoint.is_file():
            raise MnistganError(f"{self.checkpoint}: no checkpoint to resume from")
        foreign = [] if resume else self.foreign_entries()  # a resumed run writes its own names
        if foreign:
            raise MnistganError(
                f"{self.folder}: holds files that are not a mnistgan run ({foreign[0]}); "
                "choose a new or empty folder"
            )

    def foreign_entries(self) -> list[str]:
        """What the folder holds that a run does not write (our temporaries aside)."""
        if not self.folder.is_dir():
            return []
        foreign = [
            entry.name
            for entry in sorted(self.folder.iterdir())
            if entry.name not in RUN_FILES and not TEMPORARY.match(entry.name)
        ]
        samples = self.folder / "samples"
        if samples.is_dir():
            foreign += [
                f"samples/{entry.name}"
                for entry in sorted(samples.iterdir())
                if not (SAMPLE.match(entry.name) or TEMPORARY.match(entry.name))
            ]
        elif samples.exists():
            foreign.append("samples")
        return foreign

    def lock(self) -> None:
        """Hold the folder's run lock until `unlock` (or the process ends), creating the folder
        if need be; refuse if another process holds it."""
        if self.folder.exists() and not self.folder.is_dir():
            raise MnistganError(f"{self.folder}: is a file, not a run folder")
        try:
            self._created = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / LOCK_NAME, "a+")  # noqa: SIM115 (held while we write)
        except OSError as error:
            raise MnistganError(f"{self.folder}: cannot write here ({error.strerror})") from None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = " ".join(handle.read(32).split()) or "unknown"
                handle.close()
                raise MnistganError(
                    f"{self.folder}: another mnistgan train (process {holder}) is writing "
                    "this run folder"
                ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        """Release the lock, removing its file first: while we still hold it, so no other
        process can be holding the file we remove."""
        if self._lock is None:
            return
        with contextlib.suppress(OSError):
            (self.folder / LOCK_NAME).unlink()
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None

    def forget_if_empty(self) -> None:
        """Unlock, and remove the folder again if this run made it and never started."""
        self.unlock()
        if self._created:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only if empty

    def prepare(self, config: dict) -> None:
        """Remove what our processes killed mid-write left (their temporaries, nothing else),
        and write config.json."""
        for folder in (self.folder, self.folder / "samples"):
            remove_stale_temporaries(folder)
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
