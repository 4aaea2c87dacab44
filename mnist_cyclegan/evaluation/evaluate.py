"""`eval`: score a pair of generators on held-out test digits, both directions.

For each direction X→Y: digit accuracy read by Y's classifier (with its own accuracy on real Y
as the ceiling), fidelity against the known true translation, realism (background flatness and
colour diversity), Fréchet distance in classifier features, and cycle reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnist_cyclegan.cyclegan.bn_stats import use_batch_statistics
from mnist_cyclegan.cyclegan.pixels import to_model, to_pixels
from mnist_cyclegan.data import DomainArrays, domain_arrays, split_view
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.evaluation import metrics
from mnist_cyclegan.evaluation.classifier import (
    DigitClassifier,
    load_or_train_classifier,
    predict,
)
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.weights import WeightsMeta


@dataclass
class Side:
    """One domain's test set as eval needs it, with its classifier."""

    arrays: DomainArrays
    classifier: DigitClassifier


def check_split(meta: WeightsMeta, split: str) -> None:
    """Validation digits score only a model whose training left them out."""
    if split == "val" and (meta.settings is None or not meta.settings.validation):
        raise MnistganError(
            "this model trained on the validation digits (its run did not hold them out); "
            "score it with --split test"
        )


def prepare_sides(
    meta: WeightsMeta, device: torch.device, split: str = "test"
) -> tuple[Side, Side]:
    """Render both domains exactly as training did (same style, same colour seeds), with the
    split's digits as the ones to score."""
    check_split(meta, split)
    arrays_a = split_view(domain_arrays(meta.domain_a, style=meta.style, seed=meta.seed), split)
    arrays_b = split_view(domain_arrays(meta.domain_b, style=meta.style, seed=meta.seed + 1), split)
    return (
        Side(arrays_a, load_or_train_classifier(arrays_a, device)),
        Side(arrays_b, load_or_train_classifier(arrays_b, device)),
    )


def grey_digits() -> DomainArrays:
    """The MNIST digits themselves, as a domain: every truth is rendered from them."""
    return domain_arrays("mnist", seed=0)


@torch.no_grad()
def translate_batches(
    generator: torch.nn.Module,
    images: np.ndarray,
    output: str,
    device: torch.device,
    batch: int = 500,
) -> np.ndarray:
    """Apply a generator to uint8 images in batches; uint8 results of the target's shape."""
    results = []
    for start in range(0, len(images), batch):
        chunk = channels_first(images[start : start + batch])
        results.append(to_pixels(generator(to_model(chunk.to(device), output)), output))
    return np.concatenate(results)


def direction_scores(
    *,
    outputs: np.ndarray,
    cycled: np.ndarray,
    inputs: np.ndarray,
    labels: np.ndarray,
    grey: np.ndarray,
    target: Side,
    limit: int,
    device: torch.device,
) -> dict:
    """All metrics of one direction from arrays alone (so known cases can be checked directly)."""
    domain, style = target.arrays.domain, target.arrays.style
    real = target.arrays.x_test[:limit]
    predicted, features = predict(target.classifier, outputs, device)
    real_predicted, real_features = predict(target.classifier, real, device)
    _, reference_features = predict(target.classifier, target.arrays.x_train[:limit], device)
    scores = {
        "accuracy": float((predicted == labels).mean()),
        "accuracy_ceiling": float((real_predicted == labels).mean()),
        "frechet_classifier_distance": metrics.frechet_distance(features, reference_features),
        "frechet_classifier_distance_real": metrics.frechet_distance(
            real_features, reference_features
        ),
        "flatness": metrics.background_flatness(outputs, grey),
        "flatness_real": metrics.background_flatness(real, grey),
    }
    if domain == "mnist":
        truth = real
    else:
        estimated = metrics.estimate_colors(outputs, grey, domain)
        true_colors = target.arrays.colors_test[:limit]
        truth = metrics.true_translation(grey, domain, style, estimated)
        mean, per_channel = metrics.color_diversity(estimated, true_colors)
        real_mean, _ = metrics.color_diversity(
            metrics.estimate_colors(real, grey, domain), true_colors
        )
        scores.update(color_w1=mean, color_w1_channels=per_channel, color_w1_real=real_mean)
    scores["psnr"] = float(metrics.psnr(outputs, truth).mean())
    scores["ssim"] = float(metrics.ssim(outputs, truth).mean())
    scores.update(metrics.cycle_scores(inputs, cycled))
    # The distance is in our classifier's features, not Inception's: not FID. The old names
    # stay readable for one release.
    scores["fid"] = scores["frechet_classifier_distance"]
    scores["fid_real"] = scores["frechet_classifier_distance_real"]
    return scores


def evaluate(
    g_ab: torch.nn.Module,
    g_ba: torch.nn.Module,
    meta: WeightsMeta,
    *,
    limit: int = 10_000,
    device: torch.device,
    sides: tuple[Side, Side] | None = None,
    split: str = "test",
) -> tuple[dict, dict]:
    """Both directions on the first `limit` digits of `split` (test, or the validation digits
    training left out); also digit accuracy with batch statistics.

    Returns the scores and, per direction, 16 example inputs, outputs, cycles and truths.
    """
    side_a, side_b = sides or prepare_sides(meta, device, split)
    output = meta.output
    grey = split_view(grey_digits(), split).x_test[:limit]
    labels = side_a.arrays.y_test[:limit]
    results: dict = {"limit": int(min(limit, len(grey))), "domain_a": side_a.arrays.domain}
    results["split"] = split
    results["domain_b"] = side_b.arrays.domain
    samples: dict = {}
    for name, forward, backward, source, target in (
        ("a2b", g_ab, g_ba, side_a, side_b),
        ("b2a", g_ba, g_ab, side_b, side_a),
    ):
        inputs = source.arrays.x_test[:limit]
        outputs = translate_batches(forward, inputs, output, device)
        cycled = translate_batches(backward, outputs, output, device)
        scores = direction_scores(
            outputs=outputs, cycled=cycled, inputs=inputs, labels=labels, grey=grey,
            target=target, limit=limit, device=device,
        )  # fmt: skip
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
