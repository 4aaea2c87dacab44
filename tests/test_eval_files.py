"""`eval` of a model trained on make-data files: scored on those files' own digits, read by
classifiers trained on them, and saying so (it once scored every model on the embedded MNIST)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import TINY_NET, assert_one_line_error, run_cli

from mnist_cyclegan.data import domain_arrays, load_mnist
from mnist_cyclegan.evaluation.classifier import load_or_train_classifier, predict

TRAIN, TEST = 2000, 300


@pytest.fixture(scope="module")
def own_set(tmp_path_factory):
    """A set that is not MNIST: its digits turned a quarter (a reader of upright digits
    reads them poorly), saved as a user would save one, with its two domains made from it."""
    folder = tmp_path_factory.mktemp("own")
    digits = load_mnist()
    turned = {
        "x_train": np.ascontiguousarray(np.rot90(digits.x_train[:TRAIN], axes=(1, 2))),
        "y_train": digits.y_train[:TRAIN],
        "x_test": np.ascontiguousarray(np.rot90(digits.x_test[-TEST:], axes=(1, 2))),
        "y_test": digits.y_test[-TEST:],
    }
    np.savez(folder / "turned.npz", **turned)
    from typer.testing import CliRunner

    runner = CliRunner()
    for domain, name in (("mnist", "a.npz"), ("colored-background", "b.npz")):
        args = ["make-data", "--domain", domain, "--mnist", folder / "turned.npz"]
        result = run_cli(runner, *args, "--out", folder / name)
        assert result.exit_code == 0, result.output
    args = ["train", "--out", folder / "run", "--device", "cpu", *TINY_NET, "--batch-size", "16"]
    files = ["--data-a", folder / "a.npz", "--data-b", folder / "b.npz", "--steps", "3"]
    files.append("--validation")  # so its validation digits can be scored too
    result = run_cli(runner, *args, *files)
    assert result.exit_code == 0, result.output
    return folder, turned


def test_eval_scores_a_model_on_the_files_it_trained_on(runner, own_set, tmp_path):
    folder, turned = own_set
    json_out = tmp_path / "scores.json"
    weights = folder / "run" / "weights.safetensors"
    result = run_cli(runner, "eval", weights, "--json", json_out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    scores = json.loads(json_out.read_text())
    assert scores["limit"] == TEST  # the files' own test digits, not MNIST's 10,000
    assert "a.npz" in scores["data"]["a"] and "b.npz" in scores["data"]["b"]
    assert "turned.npz" in scores["data"]["b"] and "a.npz" in result.output
    # The files' own reader: it reads turned digits better than MNIST's reader does.
    mnist_reader = load_or_train_classifier(domain_arrays("mnist"), torch.device("cpu"))
    predicted, _ = predict(mnist_reader, turned["x_test"], torch.device("cpu"))
    mnist_reader_accuracy = float((predicted == turned["y_test"]).mean())
    assert scores["b2a"]["accuracy_ceiling"] > mnist_reader_accuracy + 0.2
    assert np.isfinite(scores["b2a"]["psnr"]) and np.isfinite(scores["a2b"]["flatness"])


def test_eval_on_files_given_and_their_validation_digits(runner, own_set, tmp_path):
    folder, _ = own_set
    json_out = tmp_path / "scores.json"
    files = ["--data-a", folder / "a.npz", "--data-b", folder / "b.npz", "--split", "val"]
    weights = folder / "run" / "weights.safetensors"
    result = run_cli(runner, "eval", weights, *files, "--json", json_out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    scores = json.loads(json_out.read_text())
    assert scores["split"] == "val" and scores["limit"] == TRAIN // 10


def test_eval_without_the_grey_set_leaves_fidelity_out(runner, own_set, tmp_path):
    folder, _ = own_set
    moved = tmp_path / "moved"
    (folder / "turned.npz").rename(moved)
    try:
        json_out = tmp_path / "scores.json"
        files = ["--data-a", folder / "a.npz", "--data-b", folder / "b.npz"]
        weights = folder / "run" / "weights.safetensors"
        result = run_cli(runner, "eval", weights, *files, "--json", json_out, "--device", "cpu")
        assert result.exit_code == 0, result.output
        scores = json.loads(json_out.read_text())
        # A is the mnist domain, so A's images are their own grey originals; B's are unknown.
        assert "psnr" in scores["a2b"] and "psnr" not in scores["b2a"]
        given = run_cli(runner, "eval", weights, *files, "--mnist", moved, "--json", json_out,
                        "--force", "--device", "cpu")  # fmt: skip
        assert given.exit_code == 0, given.output
        assert "psnr" in json.loads(json_out.read_text())["b2a"]
    finally:
        moved.rename(folder / "turned.npz")


def test_eval_names_a_training_file_that_is_gone(runner, own_set, tmp_path):
    folder, _ = own_set
    (folder / "a.npz").rename(tmp_path / "a.npz")
    try:
        result = run_cli(runner, "eval", folder / "run" / "weights.safetensors", "--device", "cpu")
    finally:
        (tmp_path / "a.npz").rename(folder / "a.npz")
    assert_one_line_error(result, "a.npz", "--data-a")


def test_eval_refuses_a_file_of_the_wrong_domain(runner, own_set):
    folder, _ = own_set
    files = ["--data-a", folder / "b.npz", "--data-b", folder / "b.npz"]
    result = run_cli(runner, "eval", folder / "run" / "weights.safetensors", *files)
    assert_one_line_error(result, "b.npz", "colored-background", "mnist")


def test_eval_refuses_files_that_are_not_make_data_files_or_grey_sets(runner, own_set, tmp_path):
    folder, _ = own_set
    weights = folder / "run" / "weights.safetensors"
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    files = ["--data-a", garbage, "--data-b", folder / "b.npz"]
    assert_one_line_error(run_cli(runner, "eval", weights, *files), "garbage.npz")
    files = ["--data-a", folder / "a.npz", "--data-b", folder / "b.npz", "--mnist", garbage]
    assert_one_line_error(run_cli(runner, "eval", weights, *files), "garbage.npz")
    before = garbage.read_bytes()
    report = ["--data-a", folder / "a.npz", "--data-b", folder / "b.npz", "--json", garbage]
    assert_one_line_error(run_cli(runner, "eval", weights, *report), "garbage.npz")
    assert garbage.read_bytes() == before  # an existing file is not replaced without --force


def test_eval_refuses_a_grey_set_too_small_for_the_files(runner, own_set, tmp_path):
    folder, turned = own_set
    small = tmp_path / "small.npz"
    np.savez(small, **{key: value[:5] for key, value in turned.items()})
    files = ["--data-a", folder / "a.npz", "--data-b", folder / "b.npz", "--mnist", small]
    result = run_cli(runner, "eval", folder / "run" / "weights.safetensors", *files)
    assert_one_line_error(result, "small.npz", "not the set these images were rendered from")
