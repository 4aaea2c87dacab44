"""eval's metrics on cases whose answer is known, and `mnistgan eval` through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import TINY, run_cli
from PIL import Image

from mnist_cyclegan.data import domain_arrays, load_mnist
from mnist_cyclegan.domains import render
from mnist_cyclegan.evaluation import metrics
from mnist_cyclegan.evaluation.classifier import load_or_train_classifier
from mnist_cyclegan.evaluation.rendered_eval import Side, direction_scores
from mnist_cyclegan.evaluation.scores import SHOWN, Score

LIMIT = 1000
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def background_side():
    arrays = domain_arrays("colored-background", seed=1)
    return Side(arrays, load_or_train_classifier(arrays, CPU), grey=load_mnist().x_test)


def scores_for(outputs, side):
    grey = load_mnist().x_test[:LIMIT]
    return direction_scores(
        outputs=outputs, cycled=grey, inputs=grey, labels=load_mnist().y_test[:LIMIT],
        grey=grey, target=side, limit=LIMIT, device=CPU,
    )  # fmt: skip


def test_an_oracle_translator_scores_perfectly(background_side):
    truth = background_side.arrays.x_test[:LIMIT]  # the true renderer's output
    scores = scores_for(truth, background_side)
    assert scores["accuracy"] == scores["accuracy_ceiling"] > 0.9
    assert scores["psnr"] == metrics.PSNR_CAP and scores["ssim"] == pytest.approx(1.0)
    assert scores["color_w1"] == pytest.approx(0.0, abs=1e-9)
    assert scores["flatness"] == 0.0 and scores["cycle_l1"] == 0.0
    assert scores["frechet_classifier_distance"] == pytest.approx(
        scores["frechet_classifier_distance_real"]
    )


def test_one_colour_for_every_image_scores_the_worst_colour_diversity(background_side):
    grey = load_mnist().x_test[:LIMIT]
    rng = np.random.default_rng(5)
    constant = render(grey, "colored-background", np.tile([[40, 160, 150]], (LIMIT, 1)))
    varied = render(grey, "colored-background", rng.integers(0, 255, (LIMIT, 3), dtype=np.uint8))
    worst = scores_for(constant, background_side)
    fair = scores_for(varied, background_side)
    assert worst["color_w1"] > 40 > 10 > fair["color_w1"]
    assert worst["accuracy"] > 0.9  # its digits are right: only the realism metric catches it
    for value in (0, 127, 254):  # any single colour is far from uniform colours
        flat = render(grey, "colored-background", np.full((LIMIT, 3), value, np.uint8))
        assert scores_for(flat, background_side)["color_w1"] > 40


def test_colours_tied_to_the_class_or_grey_show_in_the_joint_colour_measures(background_side):
    """Both fool per-channel W1: colours tied to the class keep each channel's spread, and
    grey colours (v, v, v) match every channel of uniform colours."""
    grey = load_mnist().x_test[:LIMIT]
    labels = load_mnist().y_test[:LIMIT]
    rng = np.random.default_rng(7)
    palette = np.linspace(0, 254, 10).round().astype(np.uint8)[rng.permutation(10)]
    by_class = np.stack([palette[labels], palette[(labels + 3) % 10], palette[labels]], 1)
    greys = np.repeat(rng.integers(0, 255, (LIMIT, 1), dtype=np.uint8), 3, axis=1)
    fair = scores_for(
        render(grey, "colored-background", rng.integers(0, 255, (LIMIT, 3), dtype=np.uint8)),
        background_side,
    )
    tied = scores_for(render(grey, "colored-background", by_class), background_side)
    grey_scores = scores_for(render(grey, "colored-background", greys), background_side)
    assert fair["color_class_dependence_real"] < 0.03 and fair["color_class_dependence"] < 0.03
    assert tied["color_class_dependence"] > 0.9 and tied["color_w1"] < 15
    assert grey_scores["color_w1"] < 15
    assert grey_scores["color_sliced_w1"] > 3 * max(
        fair["color_sliced_w1"], fair["color_sliced_w1_real"]
    )


def test_a_blank_output_scores_chance_accuracy(background_side):
    blank = np.zeros((LIMIT, 28, 28, 3), np.uint8)
    scores = scores_for(blank, background_side)
    labels = load_mnist().y_test[:LIMIT]
    assert scores["accuracy"] <= np.bincount(labels).max() / LIMIT  # one class for all
    assert (
        scores["psnr"] < 20
        and scores["frechet_classifier_distance"] > 10 * scores["frechet_classifier_distance_real"]
    )


def test_metric_building_blocks():
    u = np.array([0.0, 1.0, 2.0])
    assert metrics.wasserstein_1d(u, u + 5) == pytest.approx(5.0)
    features = np.random.default_rng(0).normal(size=(2000, 4))
    shifted = features + np.array([3.0, 0, 0, 0])
    assert metrics.frechet_distance(features, shifted) == pytest.approx(9.0, rel=1e-6)
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_eval_cli_writes_json_and_report(runner, tmp_path, weights):
    json_out, report = tmp_path / "scores.json", tmp_path / "report.png"
    args = ["--limit", "300", "--json", json_out, "--report", report, "--device", "cpu"]
    result = run_cli(runner, "eval", weights, *args)
    assert result.exit_code == 0, result.output
    scores = json.loads(json_out.read_text())
    assert scores["limit"] == 300
    for direction in ("a2b", "b2a"):
        values = scores[direction]
        for key in ("accuracy", "accuracy_ceiling", "accuracy_batch_stats", "psnr", "ssim",
                    "flatness", "frechet_classifier_distance", "frechet_classifier_distance_real",
                    "fid", "fid_real", "cycle_l1", "cycle_psnr"):  # fmt: skip
            assert np.isfinite(values[key]), (direction, key)
        assert 0 <= values["accuracy"] <= 1 and values["accuracy_ceiling"] > 0.85
    assert "color_w1" in scores["a2b"] and "color_w1" not in scores["b2a"]
    named = {score.value for score in Score}  # every score is one the scores type names
    assert set(scores["a2b"]) | set(scores["b2a"]) <= named
    assert Image.open(report).size[1] > 400
    assert "digit accuracy" in result.output


def test_train_eval_every_logs_quality_during_training(runner, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--out", out, "--device", "cpu", *TINY]
    result = run_cli(runner, *args, "--steps", "10", "--eval-every", "5")
    assert result.exit_code == 0, result.output
    lines = (out / "eval.csv").read_text().splitlines()
    assert lines[0].startswith("step,seconds,split,a2b_accuracy")
    rows = [dict(zip(lines[0].split(","), line.split(","), strict=True)) for line in lines[1:]]
    assert [row["step"] for row in rows] == ["5", "10"]
    for row in rows:
        assert 0.0 <= float(row["a2b_accuracy"]) <= 1.0 and 0.0 <= float(row["b2a_accuracy"]) <= 1.0
        assert np.isfinite(float(row["b2a_psnr"])) and np.isfinite(float(row["a2b_color_w1"]))
    resumed = run_cli(
        runner, "train", "--out", out, "--resume", "--steps", "15", "--eval-every", "5"
    )
    assert resumed.exit_code == 0, resumed.output
    steps = [line.split(",")[0] for line in (out / "eval.csv").read_text().splitlines()[1:]]
    assert steps == ["5", "10", "15"]


def test_every_shown_score_is_named_and_shown_once():
    assert all(isinstance(score, Score) for score in SHOWN)
    labels = [shown.label for shown in SHOWN.values() if not shown.label.startswith("  ")]
    assert len(labels) == len(set(labels))


def test_a_reader_of_a_small_set_trains_as_many_steps_as_one_of_mnists_size(monkeypatch):
    """1,170 labelled images: two passes are 20 steps and a reader near chance; passes_for gives
    it the steps two passes over 60,000 digits take, and a reader worth its name."""
    from dataclasses import replace

    from mnist_cyclegan.evaluation.classifier import MIN_STEPS, passes_for, predict
    from mnist_cyclegan.evaluation.classifier import train_classifier as train

    monkeypatch.delenv("MNISTGAN_CLASSIFIER_DIGITS")
    assert passes_for(60_000) == 2 and passes_for(35_000) == 4 and passes_for(10) == MIN_STEPS
    mnist = domain_arrays("mnist")
    small = replace(mnist, x_train=mnist.x_train[:1170], y_train=mnist.y_train[:1170])
    test, truth = mnist.x_test[:2000], mnist.y_test[:2000]
    accuracy = {
        epochs: float(
            (predict(train(small, device=CPU, epochs=epochs), test, CPU)[0] == truth).mean()
        )
        for epochs in (2, None)
    }
    assert accuracy[2] < 0.8 and accuracy[None] > 0.93, accuracy
