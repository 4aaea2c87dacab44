"""Semantic consistency's readers: CyCADA's (variants/keep_labels.py), trained before a run's
first step, or PixelDA's task networks (variants/task_network.py), built untrained. Here,
beside the training data, since both use the evaluation's classifier and the variants' files
stay free of it."""

from __future__ import annotations

from dataclasses import replace

import torch

from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.evaluation.classifier import DigitClassifier, class_count, train_classifier
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.training.batches import TrainingData
from mnist_cyclegan.variants import task_network
from mnist_cyclegan.variants.keep_labels import NO_LABELS, READER_SEED, Readers


def train_readers(settings: TrainSettings, data: TrainingData, device: torch.device) -> Readers:
    """A frozen reader for each labelled side, trained on the images the run trains on."""
    readers = []
    for arrays, pick in zip((data.arrays_a, data.arrays_b), data.picks, strict=True):
        if arrays.y_train is None:
            readers.append(None)
            continue
        own = replace(arrays, x_train=arrays.x_train[pick], y_train=arrays.y_train[pick])
        reader = train_classifier(own, device=device, seed=settings.seed + READER_SEED)
        readers.append(reader.requires_grad_(False))
    if readers == [None, None]:
        raise MnistganError(NO_LABELS)
    check_same_classes(data)
    return Readers(readers[0], readers[1], settings.net.output)


def task_networks(
    settings: TrainSettings, data: TrainingData, device: torch.device
) -> task_network.TaskNetworks:
    """An untrained classifier of the other side's images for each labelled side, its first
    weights drawn from the run's seed alone (a resumed run loads them from the checkpoint)."""
    sides = {"a2b": (data.arrays_a, data.arrays_b), "b2a": (data.arrays_b, data.arrays_a)}
    networks = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed + task_network.SEED)
        for direction, (source, target) in sides.items():
            if source.y_train is not None:
                networks[direction] = DigitClassifier(target.channels, class_count(source))
    if not networks:
        raise MnistganError(NO_LABELS)
    check_same_classes(data)
    return task_network.TaskNetworks(networks, settings.net.output).to(device)


def check_same_classes(data: TrainingData) -> None:
    """Where both sides have labels, a label must mean one class on both: the same count."""
    sides = (data.arrays_a, data.arrays_b)
    if all(side.y_train is not None for side in sides):
        counts = [class_count(side) for side in sides]
        if counts[0] != counts[1]:
            raise MnistganError(
                f"--keep-labels: side A has {counts[0]} classes and side B {counts[1]}; "
                "both sides' labels must name the same classes"
            )
