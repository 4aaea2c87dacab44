"""`--eval-every`: eval's metrics on held-out digits while a run trains, one CSV row per call."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mnist_cyclegan.atomic import write_text_atomic
from mnist_cyclegan.evaluation.evaluate import evaluate, prepare
from mnist_cyclegan.weights import WeightsMeta

DIRECTIONS = ("a2b", "b2a")


class EvalLog:
    """eval.csv: step, training seconds, the split scored, and each direction's scores that
    the pair's evaluation logs (`Prepared.logged`: what its data offers). A run
    that holds the validation digits out is scored on them (design choices are made there);
    one that trains on every digit (the reference preset) on the test digits."""

    def __init__(
        self, path: Path, meta: WeightsMeta, limit: int, device: torch.device, resume_step: int
    ) -> None:
        self.path, self.meta, self.limit, self.device = path, meta, limit, device
        self.split = "val" if meta.settings is not None and meta.settings.validation else "test"
        self.seconds_spent = 0.0  # evaluation time, kept out of the training wall time
        self.prepared = prepare(meta, device, self.split)  # the data, read once for the run
        self.columns = self.prepared.logged
        names = [f"{d}_{c}" for d in DIRECTIONS for c in self.columns]
        self.lines = [",".join(["step", "seconds", "split", *names])]
        if path.exists() and resume_step > 0:  # a resumed run continues its log from its step
            kept = path.read_text().splitlines()[1:]
            self.lines += [line for line in kept if int(line.split(",")[0]) <= resume_step]

    def record(self, step: int, seconds: float, g_ab: nn.Module, g_ba: nn.Module) -> dict:
        results, _ = evaluate(
            g_ab, g_ba, self.meta, limit=self.limit, device=self.device, prepared=self.prepared,
            split=self.split,
        )  # fmt: skip
        values = [results[d].get(c, float("nan")) for d in DIRECTIONS for c in self.columns]
        row = [str(step), f"{seconds:.1f}", self.split, *(f"{v:.6g}" for v in values)]
        self.lines.append(",".join(row))
        write_text_atomic(self.path, "\n".join(self.lines) + "\n")
        return results
