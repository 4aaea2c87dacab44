"""The failure watch: `train` warns while a run is not translating, and `eval` says
plainly when a direction did not translate. Forced failures, and healthy cases that stay quiet."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import run_cli

from mnist_cyclegan.console import translation_warnings
from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.evaluation.domain_check import load_domain_check
from mnist_cyclegan.evaluation.metrics import far_background
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.training.watch import FailureWatch, far_backgrounds

CPU = torch.device("cpu")
HEALTHY = {"g_gan_ab": 0.4, "g_gan_ba": 0.5, "d_a": 0.2, "d_b": 0.25}
D_B_WINS = {**HEALTHY, "g_gan_ab": 0.99, "d_b": 0.001}


@pytest.fixture(scope="module")
def checker():
    return load_domain_check(CPU)


def test_a_discriminator_winning_for_a_sustained_stretch_is_reported_once(checker):
    watch = FailureWatch("mnist", "colored-digit", 1000, checker, log_every=10)
    said = [m for step in range(10, 600, 10) for m in watch.losses(step, D_B_WINS)]
    assert len(said) == 1 and "colored-digit discriminator has won outright" in said[0]
    assert "mnist -> colored-digit" in said[0]


def test_a_discriminator_winning_now_and_then_is_not_reported(checker):
    watch = FailureWatch("mnist", "colored-digit", 1000, checker, log_every=10)
    rows = [D_B_WINS if (step // 100) % 2 else HEALTHY for step in range(10, 1000, 10)]
    assert not [
        m
        for step, row in zip(range(10, 1000, 10), rows, strict=True)
        for m in watch.losses(step, row)
    ]


def test_outputs_that_stay_in_the_source_domain_are_reported(checker):
    mnist = domain_arrays("mnist").x_test[:64]
    digits = domain_arrays("colored-digit", seed=1).x_test[:64]
    copying = FailureWatch("mnist", "colored-digit", 1000, checker, log_every=10)
    said = []
    for step in (300, 400, 500, 600):  # copies both ways: each direction's input comes back
        said += copying.outputs(
            step, {"a2b": np.repeat(mnist[..., None], 3, -1), "b2a": digits}, CPU
        )
    assert len(said) == 2 and all("is not translating" in m for m in said)
    assert "0% of its outputs" in said[0] and "100% still like mnist" in said[0]
    translating = FailureWatch("mnist", "colored-digit", 1000, checker, log_every=10)
    grey = domain_arrays("mnist", seed=0).x_test[64:128]
    for step in (300, 400, 500, 600):
        assert not translating.outputs(step, {"a2b": digits, "b2a": grey}, CPU)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("style", ["threshold", "blend"])
def test_the_background_read_from_an_input_is_background(domain, style):
    """The watch finds the background in the input itself (no true digit at hand): none of
    the digit's core, and all the background eval's flatness reads (two pixels off any ink)."""
    grey = domain_arrays("mnist").x_test[:200]
    rendered = domain_arrays(domain, seed=1, style=style).x_test[:200]
    found = far_backgrounds(channels_first(rendered))
    assert not (found & (grey >= 128)).any()
    assert not (far_background(grey) & ~found).any()


def test_mottled_backgrounds_are_reported(checker):
    """Outputs in the target domain whose backgrounds carry the dots of the runs that hid
    shading for the way back (docs/measurements.md, "Every pair of domains (third round)"):
    one warning per direction after three checks in a row; the real, flat images say
    nothing."""
    grey = domain_arrays("mnist").x_test[:64]
    colored = domain_arrays("colored-background", seed=1).x_test[:64]
    backgrounds = {
        "a2b": far_backgrounds(channels_first(grey)),
        "b2a": far_backgrounds(channels_first(colored)),
    }
    flat = {"a2b": colored, "b2a": grey}
    dots = np.random.default_rng(0).random(grey.shape) < 0.1  # a tenth of pixels, 64 off
    mottled = {name: np.where(dots[..., None] if x.ndim == 4 else dots, x ^ 64, x)
               for name, x in flat.items()}  # fmt: skip
    quiet = FailureWatch("mnist", "colored-background", 1000, checker, log_every=10)
    loud = FailureWatch("mnist", "colored-background", 1000, checker, log_every=10)
    said = []
    for step in (300, 400, 500, 600):
        assert not quiet.outputs(step, flat, CPU, backgrounds)
        said += loud.outputs(step, mottled, CPU, backgrounds)
    assert len(said) == 2 and all("backgrounds are not flat" in m for m in said)
    assert said[0].startswith("step 500: mnist -> colored-background's")
    # The last step is checked whatever its number, and one mottled reading there is enough.
    at_the_end = FailureWatch("mnist", "colored-background", 1000, checker, log_every=10)
    assert at_the_end.check_due(1000) and not at_the_end.check_due(990)
    assert not at_the_end.outputs(900, mottled, CPU, backgrounds)
    said = at_the_end.outputs(1000, mottled, CPU, backgrounds)
    assert len(said) == 2 and said[0].startswith("step 1000: mnist -> colored-background's")


def test_eval_says_when_backgrounds_are_not_flat():
    results = {"domain_a": "mnist", "domain_b": "colored-digit"}
    results["a2b"] = {"target_domain_share": 1.0, "flatness": 12.8, "flatness_real": 0.0}
    results["b2a"] = {"target_domain_share": 1.0, "flatness": 0.1, "flatness_real": 0.0}
    said = translation_warnings(results)
    assert said == [
        "mnist -> colored-digit's backgrounds are not flat: std 12.8 grey levels (real "
        "colored-digit images: 0.0); see README 'When a pair does not translate'"
    ]
    results["a2b"]["flatness"] = float("nan")  # no background to read
    assert not translation_warnings(results)


def test_a_forced_failure_warns_in_train_and_eval(runner, tmp_path):
    """The quick preset on mnist <-> colored-digit as it was (attention mask on, no two-tone
    output), with the
    identity term turned up: the generators keep returning their inputs and the
    discriminators win (a failure seen on every pair's first runs)."""
    out = tmp_path / "run"
    args = ["train", "--out", out, "--preset", "quick", "--domain-b", "colored-digit"]
    tiny = ["--gen-width", "8", "--res-blocks", "1", "--disc-width", "8", "--batch-size", "16"]
    forced = ["--train-digits", "640", "--steps", "150", "--lambda-identity", "50"]
    forced += ["--head", "attention"]  # the preset as it was: it copies
    result = run_cli(runner, *args, *tiny, *forced, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "discriminator has won outright" in result.stderr
    assert "mnist -> colored-digit is not translating" in result.stderr
    assert "colored-digit -> mnist is not translating" in result.stderr
    json_out = tmp_path / "scores.json"
    args = ["eval", out / "weights.safetensors", "--limit", "300", "--json", json_out]
    scored = run_cli(runner, *args, "--device", "cpu")
    assert scored.exit_code == 0, scored.output
    assert "mnist -> colored-digit did not translate" in scored.stderr
    scores = json.loads(json_out.read_text())["a2b"]
    assert scores["target_domain_share"] < 0.5 < scores["target_domain_share_real"]


def test_a_model_that_translates_is_not_flagged_by_eval(runner, tmp_path):
    json_out = tmp_path / "scores.json"
    bundled = run_cli(runner, "eval", "mnist-colored-background", "--limit", "300",
                      "--json", json_out, "--device", "cpu")  # fmt: skip
    assert bundled.exit_code == 0, bundled.output
    assert "did not translate" not in bundled.stderr
    scores = json.loads(json_out.read_text())
    for direction in ("a2b", "b2a"):
        assert scores[direction]["target_domain_share"] > 0.99
        assert scores[direction]["target_domain_share_input"] < 0.01
