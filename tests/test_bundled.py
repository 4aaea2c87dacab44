"""What ships inside the package: pretrained models usable by name that still score what their
cards say, and eval's classifiers, so a first `eval` starts scoring at once."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_cli

from mnist_cyclegan.evaluation import classifier
from mnist_cyclegan.pretrained import bundled_models, models_folder

MODELS = bundled_models()


def test_a_model_ships_for_each_pair_with_a_card():
    pairs = {(model.card["domain_a"], model.card["domain_b"]) for model in MODELS}
    assert pairs == {("mnist", "colored-background"), ("mnist", "colored-digit"),
                     ("colored-background", "colored-digit")}  # fmt: skip
    for model in MODELS:
        card = (model.folder / "README.md").read_text()
        sections = ("How it was made", "Scores on the 10,000", "Data and licence",
                    "Intended use and limits", "digit accuracy", "background std")  # fmt: skip
        for section in (*sections, model.card["command"], model.card["made"]["commit"]):
            assert section in card, (model.name, section)
        assert model.weights.stat().st_size < 4e6  # half precision keeps the package small


def test_models_lists_every_bundled_model(runner):
    result = run_cli(runner, "models")
    assert result.exit_code == 0, result.output
    for model in MODELS:
        assert model.name in result.output
        accuracy = model.card["test"]["a2b"]["accuracy"]
        assert f"{accuracy:.2%}" in result.output


@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_each_models_eval_prints_no_warning_and_matches_its_card(model, runner, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    """`mnistgan eval NAME` on the card's first test digits, with the bundled classifiers:
    the card's figures come from the same code, so only rounding across machines may differ."""
    monkeypatch.delenv("MNISTGAN_CLASSIFIER_DIGITS")  # the bundled, full classifiers
    limit = model.card["first_digits"]
    scored = run_cli(runner, "eval", model.name, "--limit", limit, "--json", tmp_path / "s.json")
    assert scored.exit_code == 0, scored.output
    assert "warning" not in scored.stderr, scored.stderr
    results = json.loads((tmp_path / "s.json").read_text())
    for direction in ("a2b", "b2a"):
        card, got = model.card["test_first_digits"][direction], results[direction]
        assert abs(got["accuracy"] - card["accuracy"]) <= 2 / limit, direction
        assert abs(got["psnr"] - card["psnr"]) <= 0.05, direction
        assert abs(got["target_domain_share"] - card["target_domain_share"]) <= 2 / limit
        assert got["accuracy"] >= got["accuracy_ceiling"] - 0.01, direction  # it translates
        full = model.card["test"][direction]
        assert full["target_domain_share"] >= 0.99 and full["flatness"] <= 2.0, direction


def test_translate_and_eval_take_a_model_name(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("MNISTGAN_CLASSIFIER_DIGITS")
    from PIL import Image

    from mnist_cyclegan.data import load_mnist

    Image.fromarray(load_mnist().x_test[0]).save(tmp_path / "d.png")
    name = "mnist-colored-background"
    result = run_cli(runner, "translate", name, tmp_path / "d.png", tmp_path / "o.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "o.png").mode == "RGB"
    scored = run_cli(runner, "eval", name, "--limit", "100", "--json", tmp_path / "s.json")
    assert scored.exit_code == 0, scored.output
    assert json.loads((tmp_path / "s.json").read_text())["a2b"]["accuracy"] > 0.9


def test_the_bundled_classifiers_are_used_and_nothing_is_cached(monkeypatch, tmp_path):
    monkeypatch.delenv("MNISTGAN_CLASSIFIER_DIGITS")
    monkeypatch.setenv("MNISTGAN_HOME", str(tmp_path / "home"))
    from mnist_cyclegan.data import domain_arrays

    for domain in ("mnist", "colored-background", "colored-digit"):
        arrays = domain_arrays(domain, seed=5)
        model = classifier.load_or_train_classifier(arrays, torch.device("cpu"))
        predicted, _ = classifier.predict(model, arrays.x_test[:500], torch.device("cpu"))
        assert (predicted == arrays.y_test[:500]).mean() > 0.97, domain
    assert not (tmp_path / "home").exists()
    assert models_folder().is_dir()
