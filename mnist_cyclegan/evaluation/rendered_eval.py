"""`eval` on two of our renderings: everything the rule that made the images allows.

For each direction X→Y: digit accuracy read by Y's classifier (with its own accuracy on real Y
as the ceiling), fidelity against the known true translation, realism (background flatness and
colour diversity), Fréchet distance in classifier features, cycle reconstruction, the share of
outputs the domain check places in Y, and accuracy with batch statistics. `prepare_renderings`
decides once which of these the data offers (fidelity and flatness need the grey originals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnist_cyclegan.bn_stats import use_batch_statistics
from mnist_cyclegan.data import EMBEDDED, DomainArrays, validation_indices
from mnist_cyclegan.data.mnist import IMAGE_SIZE
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.evaluation import metrics
from mnist_cyclegan.evaluation.classifier import (
    DigitClassifier,
    load_or_train_classifier,
    predict,
)
from mnist_cyclegan.evaluation.domain_check import DomainCheck, load_domain_check, share_in
from mnist_cyclegan.evaluation.eval_data import (
    EvalSources,
    scored_digits,
    side_arrays,
    training_count,
    with_training_files,
)
from mnist_cyclegan.evaluation.groups import Direction, MetricGroup, Prepared
from mnist_cyclegan.evaluation.scores import Score
from mnist_cyclegan.evaluation.translation import translate_batches
from mnist_cyclegan.weights import WeightsMeta

# What a run's eval.csv keeps of each direction (training/eval_log.py).
LOGGED = (
    Score.ACCURACY,
    Score.ACCURACY_BATCH_STATS,
    Score.PSNR,
    Score.COLOR_W1,
    Score.COLOR_SLICED_W1,
    Score.COLOR_CLASS_DEPENDENCE,
    Score.FLATNESS,
    Score.FRECHET_CLASSIFIER_DISTANCE,
    Score.CYCLE_L1,
)


@dataclass
class Side:
    """One domain's digits to score (`arrays.x_test` after the split) as eval needs them: their
    classifier, their grey originals (None when unknown) and a line naming the data."""

    arrays: DomainArrays
    classifier: DigitClassifier
    grey: np.ndarray | None = None
    description: str = ""


def prepare_sides(
    meta: WeightsMeta,
    device: torch.device,
    split: str = "test",
    sources: EvalSources | None = None,
) -> tuple[Side, Side]:
    """Both domains as training saw them (the embedded MNIST rendered in the run's style and
    colour seeds, or the run's files, or the files given), with the split's digits to score."""
    sources = with_training_files(meta, sources or EvalSources())
    arrays_a = side_arrays(meta, "a", sources.data_a)
    arrays_b = side_arrays(meta, "b", sources.data_b)
    count = training_count(arrays_a, arrays_b, split)
    sides = []
    for arrays, path in ((arrays_a, sources.data_a), (arrays_b, sources.data_b)):
        label = str(path) if path is not None else EMBEDDED
        digits = scored_digits(arrays, split, count, sources.mnist, label)
        classifier = load_or_train_classifier(arrays, device)
        sides.append(Side(digits.arrays, classifier, digits.grey, digits.description))
    return sides[0], sides[1]


def direction_scores(
    *,
    outputs: np.ndarray,
    cycled: np.ndarray,
    inputs: np.ndarray,
    labels: np.ndarray,
    grey: np.ndarray | None,
    target: Side,
    limit: int,
    device: torch.device,
) -> dict:
    """All metrics of one direction from arrays alone (so known cases can be checked directly).
    Without the inputs' grey originals, fidelity and the mask-based measures are left out."""
    scores = content_scores(outputs, labels, target, limit, device)
    if grey is not None:
        scores.update(realism_and_fidelity(outputs, grey, labels, target, limit))
    scores.update(metrics.cycle_scores(inputs, cycled))
    # The distance is in our classifier's features, not Inception's: not FID. The old names
    # stay readable for one release.
    scores[Score.FID] = scores[Score.FRECHET_CLASSIFIER_DISTANCE]
    scores[Score.FID_REAL] = scores[Score.FRECHET_CLASSIFIER_DISTANCE_REAL]
    return scores


def content_scores(
    outputs: np.ndarray, labels: np.ndarray, target: Side, limit: int, device: torch.device
) -> dict:
    """Digit accuracy as the target's classifier reads it, its accuracy on real target images
    (the ceiling), and the Fréchet distance in its features (real vs real for reference)."""
    real = target.arrays.x_test[:limit]
    predicted, features = predict(target.classifier, outputs, device)
    real_predicted, real_features = predict(target.classifier, real, device)
    _, reference_features = predict(target.classifier, target.arrays.x_train[:limit], device)
    return {
        Score.ACCURACY: float((predicted == labels).mean()),
        Score.ACCURACY_CEILING: float((real_predicted == target.arrays.y_test[:limit]).mean()),
        Score.FRECHET_CLASSIFIER_DISTANCE: metrics.frechet_distance(features, reference_features),
        Score.FRECHET_CLASSIFIER_DISTANCE_REAL: metrics.frechet_distance(
            real_features, reference_features
        ),
    }


def realism_and_fidelity(
    outputs: np.ndarray, grey: np.ndarray, labels: np.ndarray, target: Side, limit: int
) -> dict:
    """Background flatness, the colour measures (coloured targets) and PSNR/SSIM against the
    true translation, which the inputs' grey originals give."""
    domain, style = target.arrays.domain, target.arrays.style
    real = target.arrays.x_test[:limit]
    scores = {
        Score.FLATNESS: metrics.background_flatness(outputs, grey),
        Score.FLATNESS_REAL: metrics.background_flatness(real, target.grey)
        if target.grey is not None
        else float("nan"),
    }
    if domain == "mnist":
        truth = metrics.true_translation(grey, domain, style, np.zeros((len(grey), 3)))
    else:
        estimated = metrics.estimate_colors(outputs, grey, domain)
        truth = metrics.true_translation(grey, domain, style, estimated)
        scores.update(colour_scores(estimated, labels, target, limit))
    scores[Score.PSNR] = float(metrics.psnr(outputs, truth).mean())
    scores[Score.SSIM] = float(metrics.ssim(outputs, truth).mean())
    return scores


def colour_scores(estimated: np.ndarray, labels: np.ndarray, target: Side, limit: int) -> dict:
    """How the outputs' colours are spread, against the target's real colours: per channel
    (W1), jointly in RGB (sliced W1), and whether the digit's class sets them (η²). The `_real`
    twins score real target images the same way: the floor a perfect translator reaches."""
    arrays = target.arrays
    true_colors = arrays.colors_test[:limit].astype(np.float64)
    reference = reference_colors(arrays, limit)
    mean, per_channel = metrics.color_diversity(estimated, true_colors)
    scores = {Score.COLOR_W1: mean, Score.COLOR_W1_CHANNELS: per_channel}
    scores[Score.COLOR_SLICED_W1] = metrics.sliced_wasserstein(estimated, reference)
    scores[Score.COLOR_CLASS_DEPENDENCE] = metrics.class_dependence(estimated, labels)
    if target.grey is not None:
        real = metrics.estimate_colors(arrays.x_test[:limit], target.grey, arrays.domain)
        scores[Score.COLOR_W1_REAL], _ = metrics.color_diversity(real, true_colors)
        scores[Score.COLOR_SLICED_W1_REAL] = metrics.sliced_wasserstein(real, reference)
        scores[Score.COLOR_CLASS_DEPENDENCE_REAL] = metrics.class_dependence(
            real, arrays.y_test[:limit]
        )
    return scores


def reference_colors(arrays: DomainArrays, limit: int) -> np.ndarray:
    """Real colours drawn apart from the scored digits: training digits outside the validation
    set, so neither split's scored colours are among them."""
    held_out = validation_indices(len(arrays.colors_train))
    keep = np.setdiff1d(np.arange(len(arrays.colors_train)), held_out)
    return arrays.colors_train[keep[:limit]].astype(np.float64)


def domain_shares(
    checker: DomainCheck,
    outputs: np.ndarray,
    inputs: np.ndarray,
    source_domain: str,
    target: Side,
    limit: int,
    device: torch.device,
) -> dict:
    """The share of outputs the domain check places in the target domain, beside real target
    images' share (the ceiling) and the inputs' own (what returning the input would score);
    and the share of outputs still in the source domain."""
    domain = target.arrays.domain
    return {
        Score.TARGET_DOMAIN_SHARE: share_in(checker, outputs, domain, device),
        Score.SOURCE_DOMAIN_SHARE: share_in(checker, outputs, source_domain, device),
        Score.TARGET_DOMAIN_SHARE_REAL: share_in(
            checker, target.arrays.x_test[:limit], domain, device
        ),
        Score.TARGET_DOMAIN_SHARE_INPUT: share_in(checker, inputs, domain, device),
    }


def on_renderings(meta: WeightsMeta) -> bool:
    """Whether the model translates between two of our renderings at their own size, so that
    every measure that knows how they were made applies (else set_eval.py's measures)."""
    size = meta.settings.size if meta.settings is not None else None
    return meta.domain_a in DOMAINS and meta.domain_b in DOMAINS and size in (None, IMAGE_SIZE)


def prepare_renderings(
    meta: WeightsMeta, device: torch.device, split: str, sources: EvalSources | None
) -> Prepared:
    """Both renderings with their classifiers and grey originals, and the metric groups that
    apply: the rule's measures, the domain check's shares, accuracy with batch statistics."""
    side_a, side_b = prepare_sides(meta, device, split, sources)
    checker = load_domain_check(device)
    output = meta.output

    def by_the_rule(d: Direction) -> dict:
        grey = d.source.grey[: d.limit] if d.source.grey is not None else None
        return direction_scores(
            outputs=d.outputs, cycled=d.cycled, inputs=d.inputs,
            labels=d.source.arrays.y_test[: d.limit], grey=grey, target=d.target,
            limit=d.limit, device=d.device,
        )  # fmt: skip

    def in_the_domains(d: Direction) -> dict:
        return domain_shares(
            checker, d.outputs, d.inputs, d.source.arrays.domain, d.target, d.limit, d.device
        )

    def with_batch_statistics(d: Direction) -> dict:
        outputs = translate_batches(use_batch_statistics(d.forward), d.inputs, output, d.device)
        predicted, _ = predict(d.target.classifier, outputs, d.device)
        labels = d.source.arrays.y_test[: d.limit]
        return {Score.ACCURACY_BATCH_STATS: float((predicted == labels).mean())}

    groups = (
        MetricGroup("by the rule that made the images", by_the_rule),
        MetricGroup("the domain check", in_the_domains),
        MetricGroup("batch statistics", with_batch_statistics),
    )
    header = {
        "domain_a": side_a.arrays.domain, "domain_b": side_b.arrays.domain,
        "data": {"a": side_a.description, "b": side_b.description},
    }  # fmt: skip
    return Prepared((side_a, side_b), groups, header, LOGGED)
