"""`eval` for a pair that is not two of our renderings: a user's own sets, or ours at another
size. Nothing here knows a rule that made the images, so nothing needs one.

Without labels, per direction: the share of outputs a check trained on the two real training
sets places in the target domain (real target images and the untranslated inputs beside it);
the Fréchet and kernel (KID) distances between outputs and real target images in that check's
features, with real test images against the same real training images beside them; and how
well the round trip returns the input (PSNR, SSIM, L1). With labels on both sides: the digit
(class) accuracy read by a classifier trained on the target's real labelled images, its own
accuracy on real target test images as the ceiling; and the figure domain-adaptation papers
report: a classifier trained on translated source training images with the source's labels,
tested on real target test images, beside the same classifier trained on the source itself
(source-only) and on the target itself (target-only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from mnist_cyclegan.channels import match_channels
from mnist_cyclegan.data import DomainArrays, split_view, validation_indices
from mnist_cyclegan.data.sources import both_sides
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.evaluation import metrics
from mnist_cyclegan.evaluation.classifier import (
    DigitClassifier,
    class_count,
    load_or_train_classifier,
    predict,
    train_classifier,
)
from mnist_cyclegan.evaluation.eval_data import EvalSources
from mnist_cyclegan.evaluation.groups import Direction, MetricGroup, Prepared
from mnist_cyclegan.evaluation.scores import Score
from mnist_cyclegan.evaluation.set_check import load_set_check, read_sets
from mnist_cyclegan.evaluation.translation import translate_batches
from mnist_cyclegan.weights import WeightsMeta

# What a run's eval.csv keeps of each direction (training/eval_log.py): what needs no rule,
# and accuracy where both sides are labelled.
LOGGED = (
    Score.TARGET_DOMAIN_SHARE,
    Score.ACCURACY,
    Score.FRECHET_SET_DISTANCE,
    Score.KERNEL_SET_DISTANCE,
    Score.CYCLE_PSNR,
)
ADAPTATION_IMAGES = 60_000  # translated source images its classifier reads: all, as PixelDA


@dataclass(frozen=True)
class SetSide:
    """One side as eval scores it: the images to score (`arrays.x_test`), which of its
    training images the run could train on (all but the validation ones), its classifier where
    it has labels, and a line naming it."""

    arrays: DomainArrays
    kept: np.ndarray
    classifier: DigitClassifier | None
    description: str

    @property
    def train(self) -> np.ndarray:
        """The training images outside the validation split: what distances compare with."""
        return self.arrays.x_train[self.kept]


def read_set_sides(
    meta: WeightsMeta, split: str, data: tuple[Path | None, Path | None], device: torch.device
) -> tuple[SetSide, SetSide, object]:
    """Both sides read as the model's run read them (its size), the split cut, their
    classifiers (labelled sides) and the set check trained on the two training sets."""
    settings = meta.settings
    if settings is None:
        raise MnistganError("this weights file names no training run: no data to score it on")
    specs = [
        str(given) if given is not None else recorded
        for given, recorded in zip(data, (settings.data_a, settings.data_b), strict=True)
    ]
    full = both_sides(
        tuple(specs), (meta.domain_a, meta.domain_b), style=meta.style, seed=meta.seed,
        size=settings.size,
    )  # fmt: skip
    count = min(len(full[0].x_train), len(full[1].x_train))
    held_out = validation_indices(count)
    kept = [np.setdiff1d(np.arange(len(f.x_train)), held_out) for f in full]
    trained_on = [replace(f, x_train=f.x_train[k]) for f, k in zip(full, kept, strict=True)]
    check = load_set_check(*trained_on, device)
    sides = []
    for arrays, spec, keep in zip(full, specs, kept, strict=True):
        view = split_view(arrays, split, count)
        classifier = load_or_train_classifier(arrays, device) if arrays.labelled else None
        described = f"{spec or arrays.domain} ({arrays.domain}, {arrays.size}×{arrays.size})"
        sides.append(SetSide(view, keep, classifier, described))
    return sides[0], sides[1], check


def prepare_sets(
    meta: WeightsMeta, device: torch.device, split: str, sources: EvalSources
) -> Prepared:
    """Both sides read as the model's run read them, and the metric groups that apply: the set
    check's shares and distances, the round trip, and, where both sides have the same labels,
    the labels' measures."""
    side_a, side_b, check = read_set_sides(meta, split, (sources.data_a, sources.data_b), device)

    def in_the_sets(d: Direction) -> dict:
        return set_scores(check, d.outputs, d.inputs, d.target, d.target_index, d.limit, d.device)

    def by_the_labels(d: Direction) -> dict:
        return label_scores(
            d.forward, meta.output, d.outputs, d.source, d.target, d.limit, d.device
        )

    groups = [
        MetricGroup("the set check", in_the_sets),
        MetricGroup("the round trip", lambda d: round_trip(d.inputs, d.cycled)),
    ]
    if same_labels(side_a.arrays, side_b.arrays):
        groups.append(MetricGroup("the labels", by_the_labels))
    header = {
        "domain_a": meta.domain_a, "domain_b": meta.domain_b,
        "data": {"a": side_a.description, "b": side_b.description}, "kind": "sets",
    }  # fmt: skip
    return Prepared((side_a, side_b), tuple(groups), header, LOGGED)


def set_scores(
    check, outputs: np.ndarray, inputs: np.ndarray, target: SetSide, index: int, limit: int,
    device: torch.device,
) -> dict:  # fmt: skip
    """Shares in the target domain and distances to real target images, in the check's
    features; `index` is the target's side (0 for A, 1 for B)."""
    real = target.arrays.x_test[:limit]
    found, features = read_sets(check, outputs, device)
    found_real, real_features = read_sets(check, real, device)
    found_input, _ = read_sets(check, inputs, device)
    _, reference = read_sets(check, target.train[:limit], device)
    return {
        Score.TARGET_DOMAIN_SHARE: float((found == index).mean()),
        Score.SOURCE_DOMAIN_SHARE: float((found != index).mean()),
        Score.TARGET_DOMAIN_SHARE_REAL: float((found_real == index).mean()),
        Score.TARGET_DOMAIN_SHARE_INPUT: float((found_input == index).mean()),
        Score.FRECHET_SET_DISTANCE: metrics.frechet_distance(features, reference),
        Score.FRECHET_SET_DISTANCE_REAL: metrics.frechet_distance(real_features, reference),
        Score.KERNEL_SET_DISTANCE: metrics.kernel_distance(features, reference),
        Score.KERNEL_SET_DISTANCE_REAL: metrics.kernel_distance(real_features, reference),
    }


def round_trip(inputs: np.ndarray, cycled: np.ndarray) -> dict:
    """How well A → B → A returns the input: PSNR, SSIM and L1 against it."""
    return {
        **metrics.cycle_scores(inputs, cycled),
        Score.CYCLE_SSIM: float(metrics.ssim(cycled, inputs).mean()),
    }


def same_labels(source: DomainArrays, target: DomainArrays) -> bool:
    """Both sides labelled, with the same classes (digits, or a user's numbered classes)."""
    labelled = source.labelled and target.labelled
    return labelled and class_count(source) == class_count(target)


def label_scores(
    forward: torch.nn.Module, output: str, outputs: np.ndarray, source: SetSide,
    target: SetSide, limit: int, device: torch.device,
) -> dict:  # fmt: skip
    """Accuracy of the target's reader on the outputs, its ceiling, the Fréchet distance in its
    features (outputs and real test images, each against real training images), and the
    adaptation figure with source-only and target-only beside it."""
    labels = source.arrays.y_test[:limit]
    real, real_labels = target.arrays.x_test[:limit], target.arrays.y_test[:limit]
    predicted, features = predict(target.classifier, outputs, device)
    ceiling, real_features = predict(target.classifier, real, device)
    _, reference = predict(target.classifier, target.train[:limit], device)
    as_source = match_channels(real, source.arrays.channels)
    source_only, _ = predict(source.classifier, as_source, device)
    adapted = adaptation_classifier(forward, output, source, target, device)
    adapted_predicted, _ = predict(adapted, real, device)
    return {
        Score.ACCURACY: float((predicted == labels).mean()),
        Score.ACCURACY_CEILING: float((ceiling == real_labels).mean()),
        Score.FRECHET_CLASSIFIER_DISTANCE: metrics.frechet_distance(features, reference),
        Score.FRECHET_CLASSIFIER_DISTANCE_REAL: metrics.frechet_distance(real_features, reference),
        Score.ADAPTATION_ACCURACY: float((adapted_predicted == real_labels).mean()),
        Score.ADAPTATION_SOURCE_ONLY: float((source_only == real_labels).mean()),
        Score.ADAPTATION_TARGET_ONLY: float((ceiling == real_labels).mean()),
    }


def adaptation_classifier(
    forward: torch.nn.Module, output: str, source: SetSide, target: SetSide, device: torch.device
) -> DigitClassifier:
    """A classifier trained, as the target's own is, on translated source training images
    with the source's labels (the first ADAPTATION_IMAGES outside the validation digits, held
    out as for the run: of the smaller set's size, whichever side is the source)."""
    arrays = source.arrays
    keep = source.kept[:ADAPTATION_IMAGES]
    translated = translate_batches(forward, arrays.x_train[keep], output, device)
    training = replace(target.arrays, x_train=translated, y_train=arrays.y_train[keep])
    return train_classifier(training, device=device)
