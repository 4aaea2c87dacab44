"""`eval`: score a pair of generators on held-out images, both directions, in one loop.

What the pair's data offers is decided once when it loads (groups.py): two of our renderings
get every measure the rule that made them allows (rendered_eval.py); a user's own sets, or ours
at another size, what needs no rule, and labels where both sides have them (set_eval.py).
`evaluate` then translates each direction and runs every metric group the data offers.
"""

from __future__ import annotations

import torch

from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.evaluation.eval_data import EvalSources
from mnist_cyclegan.evaluation.groups import Direction, Prepared
from mnist_cyclegan.evaluation.rendered_eval import on_renderings, prepare_renderings
from mnist_cyclegan.evaluation.set_eval import prepare_sets
from mnist_cyclegan.evaluation.translation import translate_batches
from mnist_cyclegan.weights import WeightsMeta


def check_split(meta: WeightsMeta, split: str) -> None:
    """Validation digits score only a model whose training left them out."""
    if split == "val" and (meta.settings is None or not meta.settings.validation):
        raise MnistganError(
            "this model trained on the validation digits (its run did not hold them out); "
            "score it with --split test"
        )


def prepare(
    meta: WeightsMeta,
    device: torch.device,
    split: str = "test",
    sources: EvalSources | None = None,
) -> Prepared:
    """Both sides of the model's pair as its run saw them (or the files given), with the split's
    images to score and the metric groups their data offers."""
    check_split(meta, split)
    if on_renderings(meta):
        return prepare_renderings(meta, device, split, sources)
    return prepare_sets(meta, device, split, sources or EvalSources())


def evaluate(
    g_ab: torch.nn.Module,
    g_ba: torch.nn.Module,
    meta: WeightsMeta,
    *,
    limit: int = 10_000,
    device: torch.device,
    prepared: Prepared | None = None,
    split: str = "test",
    sources: EvalSources | None = None,
) -> tuple[dict, dict]:
    """Both directions on the first `limit` images of `split` (test, or the validation images
    training left out), each scored by every metric group of `prepared` (made here if None).

    Returns the scores and, per direction, 16 example inputs, outputs, cycles and truths.
    """
    prepared = prepared or prepare(meta, device, split, sources)
    side_a, side_b = prepared.sides
    count = min(len(side_a.arrays.x_test), len(side_b.arrays.x_test))
    results: dict = {"limit": int(min(limit, count)), "split": split, **prepared.header}
    samples: dict = {}
    for name, forward, backward, source, target, index in (
        ("a2b", g_ab, g_ba, side_a, side_b, 1),
        ("b2a", g_ba, g_ab, side_b, side_a, 0),
    ):
        inputs = source.arrays.x_test[:limit]
        outputs = translate_batches(forward, inputs, meta.output, device)
        cycled = translate_batches(backward, outputs, meta.output, device, colours_of=inputs)
        direction = Direction(
            name, forward, source, target, index, inputs, outputs, cycled, limit, device
        )
        results[name] = {
            k: v for group in prepared.groups for k, v in group.score(direction).items()
        }
        samples[name] = {
            "input": inputs[:16],
            "output": outputs[:16],
            "cycle": cycled[:16],
            "truth": target.arrays.x_test[:16],
        }
    return results, samples


def scores_of(direction: Direction, prepared: Prepared) -> dict:
    """One direction's scores from every metric group, in the groups' order."""
    scores: dict = {}
    for group in prepared.groups:
        scores.update(group.score(direction))
    return scores
