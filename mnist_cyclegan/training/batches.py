"""Training data on the device: the two domains' digits as uint8 tensors, drawn by index.

No per-image Python work in the training loop: each epoch is one permutation per domain, made
from (seed, epoch) alone, so a resumed run draws exactly the batches it would have drawn.
Two sides of unequal size (a user's own sets) take the epoch's length from the larger one and
read the smaller from a run of fresh shuffles (`stream_order`), also from the seed alone.
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
    # Images an epoch draws from each side: None, a pair of the same size, each side once; for
    # sides of unequal size, set by the larger (`epoch_images`), the smaller drawn again.
    epoch_images: int | None = None
    # Which of each side's training images (indices into arrays_x.x_train) train_x holds.
    picks: tuple[np.ndarray, np.ndarray] | None = None
    # Their labels (int64 on the device) where a side has them and a term reads them.
    labels_a: torch.Tensor | None = None
    labels_b: torch.Tensor | None = None

    @property
    def steps_per_epoch(self) -> int:
        return self._batches

    def set_batch_size(self, batch_size: int) -> None:
        smaller = min(len(self.train_a), len(self.train_b))
        self._batches = (self.epoch_images or smaller) // batch_size
        if smaller < batch_size:
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
        if self.epoch_images is not None:
            length = self._batches * self.batch_size
            return tuple(
                stream_order(len(images), seed, side, epoch, length).to(images.device)
                for side, images in enumerate((self.train_a, self.train_b))
            )
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order_a = torch.randperm(len(self.train_a), generator=generator)
        order_b = torch.randperm(len(self.train_b), generator=generator)
        return order_a.to(self.train_a.device), order_b.to(self.train_b.device)

    def times_seen(self, steps: int) -> tuple[float, float]:
        """How many times `steps` steps show each side's training images, on average."""
        drawn = steps * self.batch_size
        return drawn / len(self.train_a), drawn / len(self.train_b)

    def batch(self, order: tuple[torch.Tensor, torch.Tensor], index: int):
        start, stop = index * self.batch_size, (index + 1) * self.batch_size
        return self.train_a[order[0][start:stop]], self.train_b[order[1][start:stop]]

    def batch_labels(
        self, order: tuple[torch.Tensor, torch.Tensor], index: int
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The labels of `batch(order, index)`'s images, None for a side that has none."""
        start, stop = index * self.batch_size, (index + 1) * self.batch_size
        return tuple(
            None if labels is None else labels[side_order[start:stop]]
            for labels, side_order in zip((self.labels_a, self.labels_b), order, strict=True)
        )

    def keep_labels(self) -> None:
        """Put each labelled side's training labels beside its images (a term reads them)."""
        self.labels_a, self.labels_b = (
            None
            if arrays.y_train is None
            else torch.from_numpy(arrays.y_train[pick].astype(np.int64)).to(self.train_a.device)
            for arrays, pick in zip((self.arrays_a, self.arrays_b), self.picks, strict=True)
        )


def stream_order(count: int, seed: int, side: int, epoch: int, length: int) -> torch.Tensor:
    """Epoch `epoch`'s `length` indices of a side with `count` images, read from an endless
    run of shuffles of them, each made from (seed, side, its number) alone: every image once
    before any twice, and a resumed run draws what an unbroken one would."""
    start = epoch * length
    first, last = start // count, (start + length - 1) // count
    shuffles = [
        torch.randperm(count, generator=torch.Generator().manual_seed(
            (seed * 1_000_003 + side) * 1_000_033 + number
        ))
        for number in range(first, last + 1)
    ]  # fmt: skip
    offset = start - first * count
    return torch.cat(shuffles)[offset : offset + length]


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
    sizes = (len(arrays_a.x_train), len(arrays_b.x_train))
    count = min(sizes)
    if sizes[0] == sizes[1]:
        (pick_a, pick_b), epoch_images = paired_picks(settings, count), None
    else:
        pick_a, pick_b = (own_picks(settings, size, count, side) for side, size in enumerate(sizes))
        epoch_images = unequal_epoch(settings, max(sizes), len(pick_a), len(pick_b))
    data = TrainingData(
        train_a=as_tensor(arrays_a.x_train[pick_a], device),
        train_b=as_tensor(arrays_b.x_train[pick_b], device),
        test_a=as_tensor(arrays_a.x_test[:8], device),
        test_b=as_tensor(arrays_b.x_test[8:16], device),
        arrays_a=arrays_a,
        arrays_b=arrays_b,
        epoch_images=epoch_images,
        picks=(pick_a, pick_b),
    )
    data.set_batch_size(settings.batch_size)
    return data


def paired_picks(settings: TrainSettings, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Sides of the same size (ours, or index-aligned sets such as mnist ↔ mnist-m): which of
    their `count` images each trains on, as `pairing` says."""
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
    return pick_a, pick_b


def own_picks(settings: TrainSettings, size: int, count: int, side: int) -> np.ndarray:
    """Sides of unequal size are not index-aligned, so there is nothing to keep apart: each
    trains on all its images but the validation ones (the first `count`'s, as eval holds them
    out), or on `train_digits` of them drawn by the seed."""
    usable = np.arange(size)
    if settings.validation:
        usable = np.setdiff1d(usable, validation_indices(count))
    if settings.train_digits is not None and settings.train_digits < len(usable):
        drawn = np.random.default_rng([settings.seed, side]).permutation(len(usable))
        usable = np.sort(usable[drawn[: settings.train_digits]])
    return usable


def unequal_epoch(settings: TrainSettings, larger: int, images_a: int, images_b: int) -> int:
    """An epoch of sides of unequal size: as many images as a pair of two sets of the larger
    one's size would train each side on (`larger` images, split as `paired_picks` splits
    them), so the schedule, and the time it takes, are set by the larger set and a small set
    no longer shrinks the run; the smaller side is drawn again."""
    of_its_size = len(paired_picks(settings, larger)[0])
    return max(of_its_size, min(images_a, images_b))


def is_own_set(arrays: DomainArrays) -> bool:
    """Whether `arrays` came from a user's file rather than a rendering of the embedded MNIST."""
    return arrays.source not in (None, EMBEDDED)
