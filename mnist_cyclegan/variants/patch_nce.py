"""Patch-wise contrast (`--lambda-nce`, not in the reference): PatchNCE (Park et al.,
"Contrastive Learning for Unpaired Image-to-Image Translation", ECCV 2020) in the two-generator
form of DCLGAN (Han et al., "Dual Contrastive Learning for Unsupervised Image-to-Image
Translation", CVPR Workshops 2021). A patch of G(x) should be recognisable as the patch of x at
the same place among the other places of x: content is tied to its location, so a generator that
draws another digit, or hides the digit in a code the other generator reads back (Chu et al.
2017, "CycleGAN, a master of steganography"), pays for it.

The features are the encoders' own. In DCLGAN's form (`--nce-encoder both`, the default) x's
come from G's forward on x and G(x)'s from F's forward on G(x) on the way back: each side's
encoder takes its own channels, so grey and RGB sides need no conversion, and no network runs
an extra time (the term costs only its own sums: 1.10× the quick step, BENCHMARKS.md). In CUT's
form (`--nce-encoder own`) G's own encoder reads G(x) too, in x's channels (grey repeated into
RGB, RGB averaged into grey), one more pass through G's encoder a half (1.31×), which leaves G's
batch-norm statistics as they were (the pass normalises by its batch alone, as training does,
and records nothing). At each layer `encoder_layers` names (the stem, both down-samplings and
the middle residual block) the same `PATCHES` places are drawn per batch; each G(x) feature's
cosine similarities to x's features at those places, over the temperature 0.07, are read as
logits whose right answer is its own place (x's side detached, as CUT's loss does). CUT maps
features through a small trained projection first; here they are contrasted as they are, which
keeps the term free of parameters of its own.

Measured label-free (validation images, seed 0, weight 1; docs/measurements.md, "A content term
without labels: patch contrast"): with both encoders shapes-flat ↔ shapes-photo kept 87.6% and
76.1% of shapes against 82.0% and 60.3% without it, but typed ↔ mnist fell from 50.3% and 54.4%
to 42.4% and 43.0%, mnist ↔ mnist-m lost 0.5 and 0.8 points and mnist-m → colored-background
4.3; G's own encoder lost on both pairs it ran on. It wins on one kind of pair, so no preset
turns it on. tests/test_patch_nce.py checks it by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.networks import STEM_LAYERS, ResidualBlock
from mnist_cyclegan.fast.halves import Term
from mnist_cyclegan.settings.fields import ADDITIONS, Flag, one_of, setting, term_weight
from mnist_cyclegan.variants import median_offset
from mnist_cyclegan.variants.variant import HalfContext, Variant

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import TrainSettings

ENCODERS = ("both", "own")  # G(x) read by F's encoder (DCLGAN) or by G's own (CUT)
TEMPERATURE = 0.07  # CUT's
PATCHES = 64  # places drawn per layer (all of a smaller map); CUT draws 256 of larger maps
_local = threading.local()  # .taken: the list this thread's generator passes add features to


@dataclass(frozen=True)
class NceSettings:
    lambda_nce: float = term_weight(
        "Patch contrast weight (PatchNCE): each place of G(x) told apart from x's other places."
    )
    nce_encoder: str = setting(
        "both",
        one_of(ENCODERS, "--nce-encoder"),
        Flag("Whose encoder reads G(x) for --lambda-nce: both (F's, DCLGAN) or own (G's, CUT).",
             ADDITIONS),
    )  # fmt: skip


def encoder_layers(model: nn.Sequential) -> tuple[int, ...]:
    """Where the features are taken in a generator's layers: the ReLU after the stem and after
    each down-sampling (the ReLUs before the first residual block), and the middle block."""
    blocks = [i for i, layer in enumerate(model) if isinstance(layer, ResidualBlock)]
    relus = [i for i, layer in enumerate(model[: blocks[0]]) if isinstance(layer, nn.ReLU)]
    return (*relus, blocks[(len(blocks) - 1) // 2])


def _keep(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
    taken = getattr(_local, "taken", None)
    if taken is not None:
        taken.append(output)


def tap(generator: nn.Module) -> None:
    """Let `recording` see the generator's encoder features (once per generator)."""
    if getattr(generator, "_nce_tapped", False):
        return
    for index in encoder_layers(generator.model):
        generator.model[index].register_forward_hook(_keep)
    generator._nce_tapped = True


def tap_generators(generators: dict[str, nn.Module], targets: dict, seed: int) -> None:
    for generator in generators.values():
        tap(generator)


@contextmanager
def recording(into: list[torch.Tensor]) -> Iterator[None]:
    """The tapped features of the generator passes this thread runs inside, into `into`.
    Thread-local: a step's two halves may run on two threads, each with its own list."""
    before = getattr(_local, "taken", None)
    _local.taken = into
    try:
        yield
    finally:
        _local.taken = before


@dataclass
class HalfFeatures:
    """What one half-cycle's passes left: x's features from G, G(x)'s from F, and the seed
    of the places to contrast (drawn before the halves start, as threads must not race for the
    global random generator)."""

    seed: int
    read_by_f: bool = True  # DCLGAN's form: F's pass on G(x) records the queries
    of_input: list[torch.Tensor] = field(default_factory=list)
    of_output: list[torch.Tensor] = field(default_factory=list)


def draw_seed() -> int:
    return int(torch.randint(0, 2**62, ()).item())


def places(count: int, generator: torch.Generator) -> torch.Tensor:
    """`PATCHES` distinct places of `count`, or all of them where there are fewer."""
    return torch.randperm(count, generator=generator)[: min(PATCHES, count)]


def at_least_fp32(features: torch.Tensor) -> torch.Tensor:
    """Half-precision features (under autocast) in fp32 for the sums; fp64 stays fp64."""
    return features.to(torch.promote_types(features.dtype, torch.float32))


def patch_nce(query: torch.Tensor, key: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over images and places: N×C×H×W query and key, compared at the
    flat places `at`; each query's logits are its cosine similarity to every key place / τ,
    its own place the right answer. The key is detached."""
    q = F.normalize(at_least_fp32(query).flatten(2)[:, :, at], dim=1)  # N×C×P
    k = F.normalize(at_least_fp32(key.detach()).flatten(2)[:, :, at], dim=1)
    logits = torch.bmm(q.transpose(1, 2), k) / TEMPERATURE  # N×P×P, [n, i, j] = q_i · k_j / τ
    n, p, _ = logits.shape
    own = torch.arange(p, device=logits.device).repeat(n)
    return F.cross_entropy(logits.reshape(n * p, p), own)


def in_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Images in a generator's input channels: grey repeated into RGB, RGB averaged to grey."""
    if images.shape[1] == channels:
        return images
    if images.shape[1] == 1:
        return images.expand(-1, channels, -1, -1)
    return images.mean(dim=1, keepdim=True)


def run_layer(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One layer as training runs it, batch norm by the batch's own statistics, but with no
    running statistics updated (the layer's state stays as it was)."""
    if isinstance(layer, (nn.BatchNorm2d, nn.SyncBatchNorm)):
        return F.batch_norm(x, None, None, layer.weight, layer.bias, True, 0.0, layer.eps)
    if isinstance(layer, ResidualBlock):
        return layer.finish(x + run_layers(layer.body, x))
    if isinstance(layer, nn.Sequential):
        return run_layers(layer, x)
    return layer(x)


def run_layers(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        x = run_layer(layer, x)
    return x


def encode(
    generator: nn.Module, images: torch.Tensor, palette: torch.Tensor | None = None
) -> list[torch.Tensor]:
    """The generator's encoder features of `images` (its input channels) at `encoder_layers`,
    as its forward computes them (median offset, a two-tone head's palette), with no state
    changed."""
    taps = encoder_layers(generator.model)
    x = images
    if getattr(generator, "median_offset", False):
        x = median_offset.with_offset(images)
    features = []
    for index, layer in enumerate(generator.model[: taps[-1] + 1]):
        if index == STEM_LAYERS and hasattr(generator, "condition"):
            x = generator.condition(x, generator.palette_for(images, palette))
        x = run_layer(layer, x)
        if index in taps:
            features.append(x)
    return features


def nce_loss(features: HalfFeatures, queries: list[torch.Tensor] | None = None) -> torch.Tensor:
    """PatchNCE averaged over the tapped layers, G(x)'s features (`queries`, else those F's
    pass recorded) asking for x's."""
    queries = features.of_output if queries is None else queries
    if not features.of_input or len(features.of_input) != len(queries):
        raise RuntimeError("--lambda-nce: the half-cycle's passes were not recorded")
    draws = torch.Generator().manual_seed(features.seed)
    losses = []
    for query, key in zip(queries, features.of_input, strict=True):
        at = places(query.shape[2] * query.shape[3], draws).to(query.device)
        losses.append(patch_nce(query, key, at))
    return torch.stack(losses).mean()


def nce_term(settings: TrainSettings, context: HalfContext) -> Term:
    if context.features is None:
        raise RuntimeError("--lambda-nce: the step recorded no features")
    features, palette = context.features, context.palette_target

    def value(g, f, real_x, fake_y) -> torch.Tensor:
        if settings.nce_encoder == "own":  # CUT: G's encoder reads G(x) too
            return nce_loss(features, encode(g, in_channels(fake_y, real_x.shape[1]), palette))
        return nce_loss(features)

    return Term("nce", settings.lambda_nce, value)


VARIANT = Variant(
    name="patch contrast",
    train_settings=NceSettings,
    is_on=lambda settings: bool(settings.lambda_nce),
    changes_step=True,
    logged=("nce",),
    term=nce_term,
    prepare=tap_generators,
)
