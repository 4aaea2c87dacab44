"""Semantic consistency by a task network (`train --keep-labels --label-reader translated`,
variants/task_network.py, PixelDA's form): the generator's term and the classifier's own update
against hand computations, the hold while it still reads nothing, and the CLI on tiny folders
with labels (test_keep_labels.py runs both forms without labels, and resumed)."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_one_line_error, run_cli
from test_keep_labels import (
    TINY,
    by_hand_cross_entropy,
    constant_reader,
    logged_column,
    two_folders,
)

from mnist_cyclegan.evaluation.classifier import DigitClassifier
from mnist_cyclegan.fast.halves import HalfPlan, half_cycle
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.variants.task_network import LEARNING_RATE, WARMUP, TaskNetworks, task_term
from mnist_cyclegan.variants.variant import HalfContext

LOGITS = [0.0, math.log(3.0), 1.0, *([0.0] * 7)]


def task_with(logits: list[float], channels: int = 1) -> TaskNetworks:
    """Task networks whose a → b classifier reads every image as `logits` (weights 0)."""
    reader = constant_reader(channels, logits).requires_grad_(True)
    return TaskNetworks({"a2b": reader}, "sigmoid")


def test_the_generators_term_is_the_cross_entropy_against_the_inputs_label():
    task = task_with(LOGITS)
    half = task.half("a2b", torch.tensor([1, 2, 1]))
    real, fake = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    expected = (2 * by_hand_cross_entropy(LOGITS, 1) + by_hand_cross_entropy(LOGITS, 2)) / 3
    assert float(half.loss(real, fake).detach()) == pytest.approx(expected, rel=1e-6)


def test_a_half_whose_input_has_no_labels_gets_no_term():
    task = task_with(LOGITS)
    assert task.half("a2b", None) is None
    assert task.half("b2a", torch.tensor([1])) is None  # B → A has no classifier: A unlabelled
    context = HalfContext(None, None, task=None)
    term = task_term(TrainSettings(), context)
    assert term.weight == 0 and float(term.value(None, None, None, torch.ones(2, 1, 4, 4))) == 0


def test_the_classifier_steps_on_translations_and_real_images_against_their_labels():
    """Every weight 0 but the head's bias: the bias's gradient is Σ over both losses of
    mean(softmax − one-hot), and Adam's first step moves it lr · sign(gradient)."""
    task = task_with(LOGITS)
    labels = torch.tensor([1, 2, 1])
    task.half("a2b", labels).loss(torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28))
    before = task.networks["a2b"].head.bias.detach().clone()
    softmax = torch.softmax(torch.tensor(LOGITS), dim=0)
    one_hot = torch.nn.functional.one_hot(labels, 10).float()
    gradient = 2 * (softmax - one_hot).mean(dim=0)  # the translations' loss and the reals'
    task.update()
    moved = task.networks["a2b"].head.bias.detach() - before
    torch.testing.assert_close(moved, -LEARNING_RATE * gradient.sign(), rtol=1e-3, atol=1e-7)
    assert int(task.updates) == 1 and not task.pending


def test_the_term_moves_the_translation_and_never_the_classifier():
    torch.manual_seed(0)
    task = TaskNetworks({"a2b": DigitClassifier(1)}, "sigmoid")
    fake = torch.rand(2, 1, 28, 28, requires_grad=True)
    loss = task.half("a2b", torch.tensor([3, 7])).loss(torch.rand(2, 1, 28, 28), fake)
    (gradient,) = torch.autograd.grad(loss, [fake])  # as the step asks: the generators' only
    assert float(gradient.abs().sum()) > 0
    kept_fake, _, _ = task.pending["a2b"]
    assert not kept_fake.requires_grad  # the classifier learns from a detached copy
    assert all(p.grad is None for p in task.parameters())  # its update makes its own


def test_the_term_is_held_at_zero_while_the_classifier_is_new():
    task = task_with(LOGITS)

    def weight(**settings) -> float:
        context = HalfContext(None, None, task=task.half("a2b", torch.tensor([1])))
        chosen = TrainSettings(keep_labels=True, label_reader="translated", **settings)
        return task_term(chosen, context).weight

    assert weight() == 0
    task.updates.fill_(WARMUP)
    assert weight() == 1 and weight(labels_weight=3.0) == 3


def test_the_half_cycle_adds_the_weighted_term_to_the_generators_total():
    torch.manual_seed(0)
    g, f, d = (torch.nn.Conv2d(1, 1, 1) for _ in range(3))
    task = task_with(LOGITS)
    task.updates.fill_(WARMUP)
    settings = TrainSettings(keep_labels=True, label_reader="translated", precision="fp32")
    real = torch.rand(2, 1, 28, 28)
    context = HalfContext(None, None, task=task.half("a2b", torch.tensor([1, 1])))
    plan = HalfPlan(terms=(task_term(settings, context),))
    half = half_cycle(g, f, d, real, settings, plan)
    expected = half.gan + settings.lambda_cycle * half.cycle + by_hand_cross_entropy(LOGITS, 1)
    assert float(half.total.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)


# -- the CLI ---------------------------------------------------------------------------------


def test_the_task_network_trains_on_labelled_folders_and_logs_its_term(
    runner, tmp_path, labelled_digits
):
    args = two_folders(tmp_path, labelled_digits, labels_a=True, labels_b=False)
    result = run_cli(
        runner, "train", *args, "--steps", "4", "--log-every", "2", "--keep-labels",
        "--label-reader", "translated", "--out", tmp_path / "run", *TINY,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    logged = logged_column(tmp_path / "run", "task")
    assert len(logged) == 2 and all(1.5 < value < 4 for value in logged)  # ≈ ln 10, one half
    assert all(value == 0 for value in logged_column(tmp_path / "run", "labels"))  # not CyCADA's


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--label-reader", "translated"], "--label-reader translated"),
     (["--labels-weight", "3"], "--labels-weight")],
)  # fmt: skip
def test_a_label_flag_without_keep_labels_is_one_clear_line(runner, tmp_path, flags, named):
    result = run_cli(runner, "train", "--steps", "2", *flags, "--out", tmp_path / "run", *TINY)
    assert_one_line_error(result, named, "--keep-labels")
    assert not (tmp_path / "run").exists()
