"""Which of a model's two domains an image looks like, for domains we know nothing about.

The domain check (domain_check.py) knows our three renderings. For a user's own pair, a check
of the same build is trained on the two real training sets, A against B, and says which side
each image belongs to: eval reports the share of outputs it places in the target domain (real
target images and the untranslated inputs beside it), and the Fréchet and kernel distances
between outputs and real target images in its features. It needs no labels. It is trained once
per pair of training sets and cached by their contents.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch.nn import functional as F

from mnist_cyclegan.channels import grey_to_rgb
from mnist_cyclegan.data import DomainArrays
from mnist_cyclegan.evaluation.domain_check import DomainCheck, to_input
from mnist_cyclegan.evaluation.model_cache import load_or_train

SET_CHECK_FORMAT = "mnistgan-set-check"
SET_CHECK_VERSION = 1
STEPS = 600
BATCH = 128


def check_name(side_a: DomainArrays, side_b: DomainArrays) -> str:
    digest = hashlib.sha256()
    for images in (side_a.x_train, side_b.x_train):
        digest.update(str(images.shape).encode())
        digest.update(np.ascontiguousarray(images).data)
    return f"set-check-{digest.hexdigest()[:16]}-v{SET_CHECK_VERSION}.safetensors"


def train_set_check(
    side_a: DomainArrays, side_b: DomainArrays, *, device: torch.device, seed: int = 0
) -> DomainCheck:
    """Adam on balanced batches, half A and half B, grey sides read as RGB."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainCheck(classes=2).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    sets = [torch.from_numpy(grey_to_rgb(side.x_train)) for side in (side_a, side_b)]
    labels = torch.cat([torch.zeros(BATCH // 2), torch.ones(BATCH // 2)]).long().to(device)
    for _ in range(STEPS):
        picks = [s[torch.randint(len(s), (BATCH // 2,), generator=generator)] for s in sets]
        logits = model(to_input(torch.cat(picks), device))
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def load_set_check(side_a: DomainArrays, side_b: DomainArrays, device: torch.device) -> DomainCheck:
    """The check for this pair of training sets: cached, or trained now (seconds) and cached."""
    return load_or_train(
        check_name(side_a, side_b), file_format=SET_CHECK_FORMAT, meta={"sides": "a,b"},
        build=lambda: DomainCheck(classes=2),
        train=lambda: train_set_check(side_a, side_b, device=device), device=device,
    )  # fmt: skip


@torch.no_grad()
def read_sets(
    model: DomainCheck, images: np.ndarray, device: torch.device, batch: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """(side per image, 0 for A and 1 for B; the check's features per image)."""
    rgb = grey_to_rgb(images)
    sides, features = [], []
    for start in range(0, len(rgb), batch):
        hidden = model.features(to_input(rgb[start : start + batch], device))
        sides.append(model.head(hidden).argmax(1).cpu().numpy())
        features.append(hidden.double().cpu().numpy())
    return np.concatenate(sides), np.concatenate(features)
