"""What the one evaluator (evaluate.py) runs: the data prepared once, and groups of metrics.

What a pair's data offers is decided once, when it loads: our renderings offer the rule that
made them (the true translation, flat backgrounds, colours) and labels (rendered_eval.py); a
user's own sets offer real images of both sides, and labels where both have them
(set_eval.py). Each preparation returns the sides to score and the metric groups that apply to
them; the evaluator then translates each direction once and hands every group the same
`Direction`, so the loop is written once whatever the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mnist_cyclegan.evaluation.scores import Score


@dataclass(frozen=True)
class Direction:
    """One direction being scored, X → Y: its generator, both sides as prepared (`source` is
    X's, `target` Y's; each has `arrays`, the scored split), and what it made of X's images."""

    name: str  # a2b or b2a
    forward: nn.Module
    source: object
    target: object
    target_index: int  # 0 where Y is side A, 1 where it is side B
    inputs: np.ndarray
    outputs: np.ndarray
    cycled: np.ndarray
    limit: int
    device: torch.device


@dataclass(frozen=True)
class MetricGroup:
    """Metrics that apply together, and the scores they give one direction, by name."""

    name: str
    score: Callable[[Direction], dict]


@dataclass(frozen=True)
class Prepared:
    """A pair's data, prepared once: both sides to score, the metric groups their data offers,
    what the results say about the data (names, descriptions), and the scores a run's eval.csv
    keeps of each direction."""

    sides: tuple[object, object]
    groups: tuple[MetricGroup, ...]
    header: dict
    logged: tuple[Score, ...]
