"""The validation split: fixed training digits no run with `validation` trains on, which
`eval --split val` and `--eval-every` score; test digits stay for the figures we publish."""

from __future__ import annotations

import csv
import json

import numpy as np
import torch
from conftest import TINY, assert_one_line_error, run_cli

from mnist_cyclegan.data import domain_arrays, split_view, validation_indices
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.training.batches import training_data


def test_validation_digits_are_fixed_and_never_trained_on():
    held_out = validation_indices(60_000)
    assert len(held_out) == 5_000 and np.array_equal(held_out, validation_indices(60_000))
    grey = domain_arrays("mnist", seed=0)
    val_images = {bytes(x) for x in grey.x_train[held_out]}
    for seed, pairing in ((0, "disjoint"), (3, "shuffled")):
        settings = TrainSettings(seed=seed, pairing=pairing, validation=True)
        data = training_data(settings, torch.device("cpu"))
        trained = {bytes(x) for x in data.train_a.numpy()[:, 0]}
        assert len(val_images & trained) <= 5  # MNIST repeats a few images byte for byte
        assert len(data.train_a) == (27_500 if pairing == "disjoint" else 55_000)
    assert TrainSettings.preset("quick").validation
    assert not TrainSettings().validation  # the reference design trains on all


def test_the_val_split_is_the_held_out_training_digits_in_their_training_colours():
    arrays = domain_arrays("colored-background", seed=1)
    val = split_view(arrays, "val")
    held_out = validation_indices(60_000)
    assert np.array_equal(val.x_test, arrays.x_train[held_out])
    assert np.array_equal(val.colors_test, arrays.colors_train[held_out])
    assert split_view(arrays, "test") is arrays


def test_eval_split_val_and_its_refusal_for_runs_that_trained_on_everything(runner, tmp_path):
    held = tmp_path / "held"
    args = ["train", "--out", held, "--steps", "2", "--validation", *TINY]
    assert run_cli(runner, *args).exit_code == 0
    result = run_cli(runner, "eval", held / "weights.safetensors", "--split", "val",
                     "--limit", "50", "--json", tmp_path / "val.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "validation digits" in result.output
    assert json.loads((tmp_path / "val.json").read_text())["split"] == "val"
    everything = tmp_path / "everything"
    args = ["train", "--out", everything, "--steps", "2", "--no-validation", *TINY]
    assert run_cli(runner, *args).exit_code == 0
    refused = run_cli(runner, "eval", everything / "weights.safetensors", "--split", "val")
    assert_one_line_error(refused, "--split test")


def test_eval_every_scores_the_validation_digits(runner, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--out", out, "--steps", "4", "--eval-every", "2", "--validation", *TINY]
    assert run_cli(runner, *args).exit_code == 0
    with open(out / "eval.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["split"] for row in rows] == ["val", "val"]
