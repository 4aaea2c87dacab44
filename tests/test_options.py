"""`train`'s options flow typed into the settings: every flag is a field of the settings it
builds, each reaches config.json, and the help shows the dataclasses' own defaults."""

from __future__ import annotations

import inspect
import json
from dataclasses import fields

import pytest
from conftest import TINY, run_cli

from mnist_cyclegan import cli
from mnist_cyclegan.settings.command_line import split_given
from mnist_cyclegan.settings.run_options import RunOptions
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings

COMMAND_ONLY = {"preset", "config"}  # they choose where the settings come from


def names(settings_class) -> set[str]:
    return {field.name for field in fields(settings_class)}


def test_every_train_flag_is_a_field_of_exactly_one_settings_class():
    flags = set(inspect.signature(cli.train).parameters)
    homes = {
        flag: [c.__name__ for c in (TrainSettings, NetSettings, RunOptions) if flag in names(c)]
        for flag in flags - COMMAND_ONLY
    }
    assert {flag: home for flag, home in homes.items() if len(home) != 1} == {}
    # and every setting a user may choose has its flag
    unflagged = (names(TrainSettings) - {"net"}) | names(NetSettings)
    # the reference's constants: Keras' batch norm, Adam's betas (beta1 0.5 is the design's)
    assert unflagged - flags == {"bn_decay", "norm_eps", "beta1", "beta2"}


def test_a_name_that_is_no_field_fails_loudly():
    with pytest.raises(TypeError, match="no settings field 'two_tone'"):
        split_given({"two_tone": True})
    train, net, run = split_given({"lr": None, "seed": 3, "head": "tanh", "log_every": 5})
    assert (train, net, run) == ({"seed": 3}, {"head": "tanh"}, {"log_every": 5})


def test_flags_given_reach_the_runs_settings(runner, tmp_path):
    out = tmp_path / "run"
    changed = {
        "--lr": ("lr", 3e-4), "--lambda-cycle": ("lambda_cycle", 7.0),
        "--pool-size": ("pool_size", 2), "--cycle-noise": ("cycle_noise", 0.05),
        "--lambda-identity": ("lambda_identity", 1.5), "--lambda-shape": ("lambda_shape", 0.5),
        "--average-generators": ("average_generators", 0.9), "--precision": ("precision", "fp32"),
        "--pairing": ("pairing", "disjoint"), "--seed": ("seed", 5), "--epochs": ("epochs", 2),
        "--lr-decay-epochs": ("lr_decay_epochs", 1),
    }  # fmt: skip
    net_changed = {"--norm": ("norm", "instance"), "--head": ("head", "attention")}
    net_switches = {
        "--long-skip": ("long_skip", True), "--no-residual-relu": ("residual_relu", False),
        "--no-final-norm": ("final_norm", False), "--median-offset": ("median_offset", True),
    }  # fmt: skip
    valued = {**changed, **net_changed}
    args = [a for flag, (_, value) in valued.items() for a in (flag, str(value))]
    args += list(net_switches)
    net_changed |= net_switches
    result = run_cli(runner, "train", "--out", out, "--steps", "1", *TINY, "--validation", *args)
    assert result.exit_code == 0, result.output
    settings = json.loads((out / "config.json").read_text())["settings"]
    for _, (name, value) in changed.items():
        assert settings[name] == value, name
    for _, (name, value) in net_changed.items():
        assert settings["net"][name] == value, name
    assert settings["validation"] is True and settings["net"]["gen_width"] == 8


def test_help_groups_the_options_and_shows_the_presets_defaults(runner):
    result = run_cli(runner, "train", "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    panels = ["Run and data", "Schedule", "The reference design's knobs", "Additions", "Speed"]
    positions = [text.index(panel) for panel in panels]
    assert positions == sorted(positions)
    first = text[positions[0] : positions[1]]
    for flag in ("--preset", "--domain-a", "--domain-b", "--out", "--device", "--steps"):
        assert flag in first, flag
    assert "reference|quick" in text and "sigmoid|tanh|attention" in text
    reference, quick = TrainSettings(), TrainSettings.preset("quick")
    assert f"(reference: {reference.epochs}; quick: {quick.epochs})" in text
    assert "<bool>" not in text[positions[0] : positions[-1]]  # switches read as --x/--no-x
