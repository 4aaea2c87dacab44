"""Training data on the device: the two domains' digits as uint8 tensors, drawn by index.

No per-image Python work in the training loop: each epoch is one permutation per domain, made
from (seed, epoch) alone, so a resumed run draws exactly the batches it would have drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mnist_cyclegan.data import DomainArrays, validation_indices
from mnist_cyclegan.data.domain_arrays import EMBEDDED
from mnist_cyclegan.data.sources import both_sides
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.settings.schema import TrainSettings


@dataclass
class TrainingData:
    """Domain A and B training images (N×C×H×W uint8 on the device) and fixed test samples."""

    train_a: torch.Tensor
    train_b: torch.Tensor
    test_a: torch.Tensor
    test_b: torch.Tensor
    arrays_a: DomainArrays
    arrays_b: DomainArrays

    @property
    def steps_per_epoch(self) -> int:
        return self._batches

    def set_batch_size(self, batch_size: int) -> None:
        self._batches = min(len(self.train_a), len(self.train_b)) // batch_size
        if self._batches == 0:
            raise MnistganError(
                f"{self.smaller_side()}: {min(len(self.train_a), len(self.train_b))} training "
                f"images, fewer than --batch-size {batch_size}"
            )
        self.batch_size = batch_size

    def smaller_side(self) -> str:
        """The side that limits the batches, named so the user knows it: the path of their
        own set where one is the smaller (or as small), else the domain's name."""
        sides = [(len(self.train_a), self.arrays_a), (len(self.train_b), self.arrays_b)]
        own = [(size, arrays.source) for size, arrays in sides if is_own_set(arrays)]
        smallest = min(size for size, _ in sides)
        named = [name for size, name in own if size == smallest]
        return named[0] if named else min(sides, key=lambda side: side[0])[1].domain

    def epoch_order(self, seed: int, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The shuffled index order of both domains for one epoch, on the data's device."""
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order_a = torch.randperm(len(self.train_a), generator=generator)
        order_b = torch.randperm(len(self.train_b), generator=generator)
        return order_a.to(self.train_a.device), order_b.to(self.train_b.device)

    def batch(self, order: tuple[torch.Tensor, torch.Tensor], index: int):
        start, stop = index * self.batch_size, (index + 1) * self.batch_size
        return self.train_a[order[0][start:stop]], self.train_b[order[1][start:stop]]


def as_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """N×H×W or N×H×W×3 uint8 → N×C×H×W uint8 on `device`."""
    return channels_first(images).contiguous().to(device)


def training_sides(settings: TrainSettings) -> tuple[DomainArrays, DomainArrays]:
    """Both domains as the run's settings name them, at one size (data/sources.py)."""
    return both_sides(
        (settings.data_a, settings.data_b),
        (settings.domain_a, settings.domain_b),
        style=settings.style,
        seed=settings.seed,
        size=settings.size,
    )


def training_data(
    settings: TrainSettings,
    device: torch.device,
    sides: tuple[DomainArrays, DomainArrays] | None = None,
) -> TrainingData:
    """Split the training digits between A and B and put both sides on the device.

    `disjoint` (default): A gets one half of the digits and B the other, so no digit is seen in
    both domains: unpaired by construction. `shuffled`: the reference's behaviour, the same digits
    in both domains, shuffled apart by the epoch order. With `validation` (the default; not the
    reference preset's, which trains on all 60,000) the validation digits are left out.
    `sides` are both sides' images where they were read already (settings/resolve.py).
    """
    arrays_a, arrays_b = sides if sides is not None else training_sides(settings)
    count = min(len(arrays_a.x_train), len(arrays_b.x_train))
    usable = np.arange(count)
    if settings.validation:
        usable = np.setdiff1d(usable, validation_indices(count))
    order = usable[np.random.default_rng(settings.seed).permutation(len(usable))]
    if settings.pairing == "disjoint":
        half = len(usable) // 2
        pick_a, pick_b = np.sort(order[:half]), np.sort(order[half:])
    else:
        pick_a = pick_b = usable
    if settings.train_digits is not None:
        pick_a, pick_b = pick_a[: settings.train_digits], pick_b[: settings.train_digits]
    data = TrainingData(
        train_a=as_tensor(arrays_a.x_train[pick_a], device),
        train_b=as_tensor(arrays_b.x_train[pick_b], device),
        test_a=as_tensor(arrays_a.x_test[:8], device),
        test_b=as_tensor(arrays_b.x_test[8:16], device),
        arrays_a=arrays_a,
        arrays_b=arrays_b,
    )
    data.set_batch_size(settings.batch_size)
    return data


def is_own_set(arrays: DomainArrays) -> bool:
    """Whether `arrays` came from a user's file rather than a rendering of the embedded MNIST."""
    return arrays.source not in (None, EMBEDDED)
