"""The per-domain digit classifiers eval uses: trained once on real digits, cached as safetensors.

Training is seeded and cheap (one pass over 60,000 digits, seconds on a CPU), so the cache under
MNISTGAN_HOME (default ~/.cache/mnistgan) only saves time; deleting it changes nothing.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.data import EMBEDDED, DomainArrays
from mnist_cyclegan.evaluation.model_cache import load_or_train, quietly, read_model
from mnist_cyclegan.figures import reader_view
from mnist_cyclegan.images import channels_first

CLASSIFIER_FORMAT = "mnistgan-classifier"
CLASSIFIER_VERSION = 2
BATCH = 128
# The fewest steps a reader trains: two passes over MNIST's 60,000 digits. A reader of a small
# set passes over it more often, rather than stop after 2 × ten batches (1,170 mnist-m
# images: a reader at 42%, a poor judge of anything).
MIN_STEPS = 2 * -(-60_000 // BATCH)


class DigitClassifier(nn.Module):
    """A small CNN that reads digits in one domain: eval's judge of content and its FID features.

    Two 3×3 conv + max-pool stages and a 128-unit hidden layer whose activations are the
    features for the Fréchet distance (as FID uses Inception's penultimate layer). It reads each
    image twice: as is, and minus its per-channel median (the background colour), which lifts a
    white digit off a pale random background (97.7% → 98.4% on real colored-background digits).
    """

    def __init__(self, channels: int, classes: int = 10) -> None:
        super().__init__()
        self.channels = channels
        self.body = nn.Sequential(
            nn.Conv2d(2 * channels, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(128, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def images_to_input(images: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 N×H×W(×3) → float N×2C×28×28 on `device`: the image in [0, 1] as every reader
    reads it (figures.reader_view: at 28×28, and minus its per-channel median)."""
    return reader_view(channels_first(images).to(device).float() / 255.0)


def passes_for(count: int) -> int:
    """How many passes over `count` images a reader makes: two, or as many as MIN_STEPS
    takes. MNISTGAN_CLASSIFIER_DIGITS (a smoke test's setting) keeps two."""
    if training_digits() is not None:
        return 2
    return max(2, -(-MIN_STEPS // max(1, -(-count // BATCH))))


def train_classifier(
    arrays: DomainArrays, *, device: torch.device, epochs: int | None = None, seed: int = 0
) -> DigitClassifier:
    """Adam with a cosine decay to zero: two passes over 60,000 digits reach about 99% on
    every domain; a smaller set gets as many steps (`passes_for`) unless `epochs` says."""
    epochs = passes_for(len(arrays.x_train)) if epochs is None else epochs
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier(arrays.channels, class_count(arrays)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    images = torch.from_numpy(arrays.x_train)
    labels = torch.from_numpy(arrays.y_train.astype(np.int64))
    steps = epochs * -(-len(images) // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))
    )
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            logits = model(images_to_input(images[index], device))
            loss = F.cross_entropy(logits, labels[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


def class_count(arrays: DomainArrays) -> int:
    """Ten for digits; for a user's labelled set, its highest label plus one."""
    if arrays.rendered or arrays.y_train is None:
        return 10
    return max(10, int(arrays.y_train.max()) + 1) if len(arrays.y_train) else 10


def training_digits() -> int | None:
    """MNISTGAN_CLASSIFIER_DIGITS=N trains classifiers on N digits only: a quick smoke-test
    setting (tests use it); scores are then not comparable with the full classifiers'."""
    value = os.environ.get("MNISTGAN_CLASSIFIER_DIGITS")
    return int(value) if value else None


def classifier_name(arrays: DomainArrays) -> str:
    """The cache name of the classifier for `arrays`: by domain and style for the embedded
    MNIST, and by a hash of the training images and labels for any other set (a reader of
    digits cannot judge translated garments)."""
    digits = training_digits()
    size = "" if digits is None else f"-{digits}digits"
    data = ""
    if arrays.source != EMBEDDED:
        digest = hashlib.sha256(str(arrays.x_train.shape).encode())
        digest.update(np.ascontiguousarray(arrays.x_train).data)
        digest.update(np.ascontiguousarray(arrays.y_train).data)
        data = f"-data{digest.hexdigest()[:16]}-passes{passes_for(len(arrays.x_train))}"
    version = f"v{CLASSIFIER_VERSION}"
    return f"classifier-{arrays.domain}-{arrays.style}{data}{size}-{version}.safetensors"


def load_or_train_classifier(arrays: DomainArrays, device: torch.device) -> DigitClassifier:
    """The classifier for these digits: bundled, cached, or trained now and cached."""
    digits = training_digits()

    def train() -> DigitClassifier:
        subset = arrays
        if digits is not None:
            subset = replace(
                arrays, x_train=arrays.x_train[:digits], y_train=arrays.y_train[:digits]
            )
        return train_classifier(subset, device=device)

    classes = class_count(arrays)
    meta = {"channels": arrays.channels, "domain": arrays.domain, "style": arrays.style}
    if classes != 10:
        meta["classes"] = classes
    return load_or_train(
        classifier_name(arrays), file_format=CLASSIFIER_FORMAT, meta=meta,
        build=lambda: DigitClassifier(arrays.channels, classes), train=train, device=device,
    )  # fmt: skip


def read_classifier(path: Path, channels: int) -> DigitClassifier:
    """A classifier for `channels`-channel images, its tensors checked before loading."""
    model = quietly(lambda: DigitClassifier(channels))
    return read_model(path, CLASSIFIER_FORMAT, {"channels": channels}, model)


@torch.no_grad()
def predict(
    model: DigitClassifier, images: np.ndarray, device: torch.device, batch: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted labels and penultimate features for uint8 images."""
    labels, features = [], []
    for start in range(0, len(images), batch):
        x = images_to_input(images[start : start + batch], device)
        hidden = model.features(x)
        labels.append(model.head(hidden).argmax(1).cpu().numpy())
        features.append(hidden.cpu().numpy())
    return np.concatenate(labels), np.concatenate(features)
