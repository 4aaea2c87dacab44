"""`eval`: score a pair of generators on held-out test digits, both directions.

For each direction X→Y: digit accuracy read by Y's classifier (with its own accuracy on real Y
as the ceiling), fidelity against the known true translation, realism (background flatness and
colour diversity), Fréchet distance in classifier features, and cycle reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnist_cyclegan.bn_stats import use_batch_statistics
from mnist_cyclegan.data import EMBEDDED, DomainArrays, validation_indices
from mnist_cyclegan.data.mnist import IMAGE_SIZE
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.errors import MnistganError
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
from mnist_cyclegan.evaluation.set_eval import evaluate_sets
from mnist_cyclegan.evaluation.translation import translate_batches
from mnist_cyclegan.weights import WeightsMeta


@dataclass
class Side:
    """One domain's digits to score (`arrays.x_test` after the split) as eval needs them: their
    classifier, their grey originals (None when unknown) and a line naming the data."""

    arrays: DomainArrays
    classifier: DigitClassifier
    grey: np.ndarray | None = None
    description: str = ""


def check_split(meta: WeightsMeta, split: str) -> None:
    """Validation digits score only a model whose training left them out."""
    if split == "val" and (meta.settings is None or not meta.settings.validation):
        raise MnistganError(
            "this model trained on the validation digits (its run did not hold them out); "
            "score it with --split test"
        )


def prepare_sides(
    meta: WeightsMeta,
    device: torch.device,
    split: str = "test",
    sources: EvalSources | None = None,
) -> tuple[Side, Side]:
    """Both domains as training saw them (the embedded MNIST rendered in the run's style and
    colour seeds, or the run's files, or the files given), with the split's digits to score."""
    check_split(meta, split)
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
    scores["fid"] = scores["frechet_classifier_distance"]
    scores["fid_real"] = scores["frechet_classifier_distance_real"]
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
        "accuracy": float((predicted == labels).mean()),
        "accuracy_ceiling": float((real_predicted == target.arrays.y_test[:limit]).mean()),
        "frechet_classifier_distance": metrics.frechet_distance(features, reference_features),
        "frechet_classifier_distance_real": metrics.frechet_distance(
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
        "flatness": metrics.background_flatness(outputs, grey),
        "flatness_real": metrics.background_flatness(real, target.grey)
        if target.grey is not None
        else float("nan"),
    }
    if domain == "mnist":
        truth = metrics.true_translation(grey, domain, style, np.zeros((len(grey), 3)))
    else:
        estimated = metrics.estimate_colors(outputs, grey, domain)
        truth = metrics.true_translation(grey, domain, style, estimated)
        scores.update(colour_scores(estimated, labels, target, limit))
    scores["psnr"] = float(metrics.psnr(outputs, truth).mean())
    scores["ssim"] = float(metrics.ssim(outputs, truth).mean())
    return scores


def colour_scores(estimated: np.ndarray, labels: np.ndarray, target: Side, limit: int) -> dict:
    """How the outputs' colours are spread, against the target's real colours: per channel
    (W1), jointly in RGB (sliced W1), and whether the digit's class sets them (η²). The `_real`
    twins score real target images the same way: the floor a perfect translator reaches."""
    arrays = target.arrays
    true_colors = arrays.colors_test[:limit].astype(np.float64)
    reference = reference_colors(arrays, limit)
    mean, per_channel = metrics.color_diversity(estimated, true_colors)
    scores = {"color_w1": mean, "color_w1_channels": per_channel}
    scores["color_sliced_w1"] = metrics.sliced_wasserstein(estimated, reference)
    scores["color_class_dependence"] = metrics.class_dependence(estimated, labels)
    if target.grey is not None:
        real = metrics.estimate_colors(arrays.x_test[:limit], target.grey, arrays.domain)
        scores["color_w1_real"], _ = metrics.color_diversity(real, true_colors)
        scores["color_sliced_w1_real"] = metrics.sliced_wasserstein(real, reference)
        scores["color_class_dependence_real"] = metrics.class_dependence(
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
        "target_domain_share": share_in(checker, outputs, domain, device),
        "source_domain_share": share_in(checker, outputs, source_domain, device),
        "target_domain_share_real": share_in(checker, target.arrays.x_test[:limit], domain, device),
        "target_domain_share_input": share_in(checker, inputs, domain, device),
    }


def on_renderings(meta: WeightsMeta) -> bool:
    """Whether the model translates between two of our renderings at their own size, so that
    every measure that knows how they were made applies (else set_eval.py's measures)."""
    size = meta.settings.size if meta.settings is not None else None
    return meta.domain_a in DOMAINS and meta.domain_b in DOMAINS and size in (None, IMAGE_SIZE)


def evaluate(
    g_ab: torch.nn.Module,
    g_ba: torch.nn.Module,
    meta: WeightsMeta,
    *,
    limit: int = 10_000,
    device: torch.device,
    sides: tuple[Side, Side] | None = None,
    split: str = "test",
    sources: EvalSources | None = None,
) -> tuple[dict, dict]:
    """Both directions on the first `limit` digits of `split` (test, or the validation digits
    training left out); also digit accuracy with batch statistics.

    Returns the scores and, per direction, 16 example inputs, outputs, cycles and truths.
    A model of a user's own sets is scored by set_eval.py, which needs no rule nor labels.
    """
    if sides is None and not on_renderings(meta):
        check_split(meta, split)
        given = sources or EvalSources()
        return evaluate_sets(
            g_ab, g_ba, meta, limit=limit, device=device, split=split,
            data=(given.data_a, given.data_b),
        )  # fmt: skip
    side_a, side_b = sides or prepare_sides(meta, device, split, sources)
    output = meta.output
    count = min(len(side_a.arrays.x_test), len(side_b.arrays.x_test))
    results: dict = {"limit": int(min(limit, count)), "domain_a": side_a.arrays.domain}
    results["split"] = split
    results["domain_b"] = side_b.arrays.domain
    results["data"] = {"a": side_a.description, "b": side_b.description}
    checker = load_domain_check(device)
    samples: dict = {}
    for name, forward, backward, source, target in (
        ("a2b", g_ab, g_ba, side_a, side_b),
        ("b2a", g_ba, g_ab, side_b, side_a),
    ):
        inputs = source.arrays.x_test[:limit]
        labels = source.arrays.y_test[:limit]
        grey = source.grey[:limit] if source.grey is not None else None
        outputs = translate_batches(forward, inputs, output, device)
        cycled = translate_batches(backward, outputs, output, device, colours_of=inputs)
        scores = direction_scores(
            outputs=outputs, cycled=cycled, inputs=inputs, labels=labels, grey=grey,
            target=target, limit=limit, device=device,
        )  # fmt: skip
        shares = domain_shares(
            checker, outputs, inputs, source.arrays.domain, target, limit, device
        )
        scores.update(shares)
        batch_outputs = translate_batches(use_batch_statistics(forward), inputs, output, device)
        batch_predicted, _ = predict(target.classifier, batch_outputs, device)
        scores["accuracy_batch_stats"] = float((batch_predicted == labels).mean())
        results[name] = scores
        samples[name] = {
            "input": inputs[:16],
            "output": outputs[:16],
            "cycle": cycled[:16],
            "truth": target.arrays.x_test[:16],
        }
    return results, samples
