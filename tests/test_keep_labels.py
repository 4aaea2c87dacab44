"""Semantic consistency (`train --keep-labels`, variants/keep_labels.py): the term against a hand
computation, which reader reads which half, and the CLI on tiny folders with labels and without."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from conftest import assert_one_line_error, assert_resumes_bit_identical, run_cli
from PIL import Image

from mnist_cyclegan.evaluation.classifier import DigitClassifier
from mnist_cyclegan.variants.keep_labels import LabelHalf, Readers, label_loss, reader_input

TINY = ["--gen-width", "8", "--res-blocks", "1", "--disc-width", "8", "--device", "cpu"]


def constant_reader(channels: int, logits: list[float]) -> DigitClassifier:
    """A reader whose every reading is `logits`: all weights 0, the head's bias the logits."""
    reader = DigitClassifier(channels)
    with torch.no_grad():
        for parameter in reader.parameters():
            parameter.zero_()
        reader.head.bias.copy_(torch.tensor(logits))
    return reader.eval().requires_grad_(False)


def by_hand_cross_entropy(logits: list[float], label: int) -> float:
    """−log softmax(logits)[label], written out."""
    return math.log(sum(math.exp(v) for v in logits)) - logits[label]


def test_the_term_is_the_cross_entropy_against_the_inputs_label():
    logits = [0.0, math.log(3.0), 1.0, *([0.0] * 7)]
    reader = constant_reader(1, logits)
    half = LabelHalf(reader, reader, torch.tensor([1, 2, 1]), "sigmoid")
    real, fake = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    expected = (2 * by_hand_cross_entropy(logits, 1) + by_hand_cross_entropy(logits, 2)) / 3
    assert float(label_loss(half, real, fake)) == pytest.approx(expected, rel=1e-6)


def test_without_labels_the_target_is_the_readers_reading_of_the_input():
    """x unlabelled: the input's reader decides the target (class 2 here), G(x)'s reader the
    reading it is held to."""
    reads_input = constant_reader(1, [0.0, 0.0, 5.0, *([0.0] * 7)])  # reads every x as a 2
    reads_output = constant_reader(3, [1.0, 2.0, 3.0, *([0.0] * 7)])
    half = LabelHalf(reads_output, reads_input, None, "tanh")
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 3, 28, 28) * 2 - 1
    expected = by_hand_cross_entropy([1.0, 2.0, 3.0, *([0.0] * 7)], 2)
    assert float(label_loss(half, real, fake)) == pytest.approx(expected, rel=1e-6)


def test_the_reader_sees_pixels_in_0_1_minus_their_median_in_its_channels():
    fake = torch.full((1, 3, 28, 28), -1.0)  # tanh black
    fake[0, :, 10:14, 10:14] = torch.tensor([1.0, 0.0, -1.0])[:, None, None]
    grey = reader_input(fake, "tanh", channels=1)
    assert grey.shape == (1, 2, 28, 28)
    assert float(grey[0, 0, 12, 12]) == pytest.approx(0.5)  # mean of 1, 0.5 and 0
    assert float(grey[0, 0, 0, 0]) == 0.0 and float(grey[0, 1, 12, 12]) == pytest.approx(0.5)
    colour = reader_input(torch.rand(2, 1, 32, 32), "sigmoid", channels=3)
    assert colour.shape == (2, 6, 28, 28)  # grey repeated, read at 28×28
    assert torch.equal(colour[:, 0], colour[:, 1])


def test_the_term_moves_the_translation_and_never_the_reader():
    torch.manual_seed(0)
    reader = DigitClassifier(1).eval().requires_grad_(False)
    half = LabelHalf(reader, reader, torch.tensor([3, 7]), "sigmoid")
    fake = torch.rand(2, 1, 28, 28, requires_grad=True)
    label_loss(half, torch.rand(2, 1, 28, 28), fake).backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0
    assert all(p.grad is None for p in reader.parameters())


def test_each_half_reads_its_output_with_its_own_sides_reader_where_it_has_one():
    a, b = DigitClassifier(1), DigitClassifier(3)
    both = Readers(a, b, "sigmoid")
    assert both.half("a2b", None).reads_output is b and both.half("b2a", None).reads_output is a
    only_a = Readers(a, None, "sigmoid")
    a2b, b2a = only_a.half("a2b", None), only_a.half("b2a", None)
    assert a2b.reads_output is a and a2b.reads_input is a  # CyCADA: the source's reader
    assert b2a.reads_output is a and b2a.reads_input is a


# -- the CLI ---------------------------------------------------------------------------------


def write_folder(root, images: np.ndarray, labels: np.ndarray | None, invert: bool) -> None:
    """Images as PNGs: in class folders where `labels` are given, else all in one folder."""
    for index, image in enumerate(images):
        folder = root / (str(labels[index]) if labels is not None else "all")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(255 - image if invert else image).save(folder / f"{index:04d}.png")


def two_folders(root, digits, *, labels_a: bool, labels_b: bool) -> list:
    """100 real digits white on black as side A, 100 others black on white as side B, each
    in class folders where it has labels; `train`'s options that name them."""
    grey, labels = digits
    write_folder(root / "black", grey[:100], labels[:100] if labels_a else None, invert=False)
    write_folder(root / "white", grey[100:], labels[100:] if labels_b else None, invert=True)
    return ["--data-a", root / "black", "--data-b", root / "white", "--batch-size", "16"]


def logged_column(run, name: str) -> list[float]:
    with open(run / "losses.csv", newline="") as file:
        return [float(row[name]) for row in csv.DictReader(file)]


def test_keep_labels_trains_on_labelled_folders_and_logs_its_term(
    runner, tmp_path, labelled_digits
):
    args = two_folders(tmp_path, labelled_digits, labels_a=True, labels_b=False)
    result = run_cli(
        runner, "train", *args, "--steps", "4", "--log-every", "2", "--keep-labels",
        "--out", tmp_path / "run", *TINY,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    logged = logged_column(tmp_path / "run", "labels")
    assert logged and all(value > 0 for value in logged)  # both halves: ≈ ln 10 at the start
    plain = run_cli(runner, "train", *args, "--steps", "4", "--out", tmp_path / "plain", *TINY)
    assert plain.exit_code == 0, plain.output
    assert all(value == 0 for value in logged_column(tmp_path / "plain", "labels"))


@pytest.mark.parametrize("form", [[], ["--label-reader", "translated"]], ids=["real", "translated"])
def test_keep_labels_without_labels_is_one_clear_line(runner, tmp_path, labelled_digits, form):
    args = two_folders(tmp_path, labelled_digits, labels_a=False, labels_b=False)
    result = run_cli(
        runner, "train", *args, "--steps", "2", "--keep-labels", *form,
        "--out", tmp_path / "run", *TINY,
    )  # fmt: skip
    assert_one_line_error(result, "--keep-labels", "neither side has labels")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("form", [[], ["--label-reader", "translated"]], ids=["real", "translated"])
def test_a_run_that_keeps_labels_resumes_bit_identical(
    runner, tmp_path, labelled_digits, two_threads, form
):
    """CyCADA's readers are not in the checkpoint: a resumed run trains them again,
    identically. PixelDA's classifiers learn as the run goes: the checkpoint keeps them, their
    optimiser and their count of updates."""
    args = two_folders(tmp_path, labelled_digits, labels_a=True, labels_b=True)
    common = [*args, "--keep-labels", *form, "--seed", "3", *TINY]
    assert_resumes_bit_identical(runner, tmp_path, common, steps=8, stop_at=3)


def test_the_terms_weight_is_cycadas_1_unless_labels_weight_says():
    from mnist_cyclegan.settings.schema import TrainSettings
    from mnist_cyclegan.variants.keep_labels import label_term
    from mnist_cyclegan.variants.variant import HalfContext

    reader = constant_reader(1, [0.0] * 10)
    context = HalfContext(None, None, labels=LabelHalf(reader, reader, None, "sigmoid"))
    assert label_term(TrainSettings(keep_labels=True), context).weight == 1
    chosen = TrainSettings(keep_labels=True, labels_weight=3.0).validate()
    assert label_term(chosen, context).weight == 3
