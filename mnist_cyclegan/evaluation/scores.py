"""Every score `eval` gives one direction, named once: the `Score` names that scores JSON,
eval.csv, model cards, the report, the console and the benchmarks all use, and how the report
and the console show each.

A `Score` is a string (a StrEnum), so results stay plain JSON; code names a score by its
member (`Score.ACCURACY`), so a misspelt name fails where it is written, and a test checks
that every score the evaluator gives is one of these. This module imports nothing: the console
reads it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Score(StrEnum):
    """One direction's scores; `_real` twins score real target images the same way (the floor
    or ceiling a perfect translator reaches), `_input` the untranslated inputs."""

    TARGET_DOMAIN_SHARE = "target_domain_share"
    TARGET_DOMAIN_SHARE_REAL = "target_domain_share_real"
    TARGET_DOMAIN_SHARE_INPUT = "target_domain_share_input"
    SOURCE_DOMAIN_SHARE = "source_domain_share"
    ACCURACY = "accuracy"
    ACCURACY_CEILING = "accuracy_ceiling"
    ACCURACY_BATCH_STATS = "accuracy_batch_stats"
    PSNR = "psnr"
    SSIM = "ssim"
    FLATNESS = "flatness"
    COLOR_W1 = "color_w1"
    COLOR_SLICED_W1 = "color_sliced_w1"
    COLOR_SLICED_W1_REAL = "color_sliced_w1_real"
    COLOR_CLASS_DEPENDENCE = "color_class_dependence"
    COLOR_CLASS_DEPENDENCE_REAL = "color_class_dependence_real"
    FRECHET_CLASSIFIER_DISTANCE = "frechet_classifier_distance"
    FRECHET_CLASSIFIER_DISTANCE_REAL = "frechet_classifier_distance_real"
    FRECHET_SET_DISTANCE = "frechet_set_distance"
    FRECHET_SET_DISTANCE_REAL = "frechet_set_distance_real"
    KERNEL_SET_DISTANCE = "kernel_set_distance"
    KERNEL_SET_DISTANCE_REAL = "kernel_set_distance_real"
    ADAPTATION_ACCURACY = "adaptation_accuracy"
    ADAPTATION_SOURCE_ONLY = "adaptation_source_only"
    ADAPTATION_TARGET_ONLY = "adaptation_target_only"
    CYCLE_L1 = "cycle_l1"
    CYCLE_PSNR = "cycle_psnr"
    CYCLE_SSIM = "cycle_ssim"
    COLOR_W1_CHANNELS = "color_w1_channels"
    COLOR_W1_REAL = "color_w1_real"
    FID = "fid"
    FID_REAL = "fid_real"
    FLATNESS_REAL = "flatness_real"


@dataclass(frozen=True)
class Shown:
    """How the report and the console show a score: its label and its format."""

    label: str
    format: str


# The scores the report and `eval`'s table show, in their order; a label that starts with two
# spaces is the twin of the score above it.
SHOWN: dict[Score, Shown] = {
    Score.TARGET_DOMAIN_SHARE: Shown("in target domain", "{:.2%}"),
    Score.TARGET_DOMAIN_SHARE_REAL: Shown("  real target images", "{:.2%}"),
    Score.TARGET_DOMAIN_SHARE_INPUT: Shown("  inputs (a copy)", "{:.2%}"),
    Score.SOURCE_DOMAIN_SHARE: Shown("in source domain", "{:.2%}"),
    Score.ACCURACY: Shown("digit accuracy", "{:.2%}"),
    Score.ACCURACY_CEILING: Shown("  classifier on real", "{:.2%}"),
    Score.ACCURACY_BATCH_STATS: Shown("  with batch statistics", "{:.2%}"),
    Score.PSNR: Shown("PSNR vs truth (dB)", "{:.2f}"),
    Score.SSIM: Shown("SSIM vs truth", "{:.3f}"),
    Score.FLATNESS: Shown("background std (0-255)", "{:.2f}"),
    Score.COLOR_W1: Shown("colour W1 (0-255)", "{:.2f}"),
    Score.COLOR_SLICED_W1: Shown("colour W1 joint RGB", "{:.2f}"),
    Score.COLOR_SLICED_W1_REAL: Shown("  real vs real", "{:.2f}"),
    Score.COLOR_CLASS_DEPENDENCE: Shown("colour ~ class (eta^2)", "{:.3f}"),
    Score.COLOR_CLASS_DEPENDENCE_REAL: Shown("  real", "{:.3f}"),
    Score.FRECHET_CLASSIFIER_DISTANCE: Shown("Frechet dist. (classifier)", "{:.2f}"),
    Score.FRECHET_CLASSIFIER_DISTANCE_REAL: Shown("  real vs real", "{:.2f}"),
    Score.FRECHET_SET_DISTANCE: Shown("Frechet dist. (A/B check)", "{:.3f}"),
    Score.FRECHET_SET_DISTANCE_REAL: Shown("  real vs real", "{:.3f}"),
    Score.KERNEL_SET_DISTANCE: Shown("KID (A/B check)", "{:.4f}"),
    Score.KERNEL_SET_DISTANCE_REAL: Shown("  real vs real", "{:.4f}"),
    Score.ADAPTATION_ACCURACY: Shown("trained on outputs", "{:.2%}"),
    Score.ADAPTATION_SOURCE_ONLY: Shown("  on the source", "{:.2%}"),
    Score.ADAPTATION_TARGET_ONLY: Shown("  on the target", "{:.2%}"),
    Score.CYCLE_L1: Shown("cycle L1", "{:.4f}"),
    Score.CYCLE_PSNR: Shown("cycle PSNR (dB)", "{:.2f}"),
    Score.CYCLE_SSIM: Shown("cycle SSIM", "{:.3f}"),
}

DirectionScores = dict[Score, object]  # a direction's scores: floats, one list (per channel)
