"""`--average-generators`: the run exports the moving average of its generators' weights."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY, assert_one_line_error, run_cli
from safetensors.torch import load_file

from mnist_cyclegan.training.checkpoint import read_checkpoint_settings
from mnist_cyclegan.variants.factory import build_networks

DECAY = 0.5
SEED = 5


def train(runner, out, *extra):
    args = ["--out", out, "--device", "cpu", "--seed", str(SEED), *TINY, *extra]
    return run_cli(runner, "train", *args)


def live_generators(path) -> dict[str, torch.Tensor]:
    """G_ab's and G_ba's parameters as a checkpoint stores the live networks."""
    stored = load_file(str(path))
    return {k[len("net.") :]: v for k, v in stored.items() if k.startswith("net.G_")}


def test_exported_weights_are_the_moving_average_of_the_live_ones(runner, tmp_path):
    # The live weights after each of three steps, from three runs (a CPU run is deterministic),
    # folded by hand into the average the docs promise: keep min(decay, (1+t)/(10+t)) at step t.
    lives = []
    for steps in (1, 2, 3):
        out = tmp_path / f"steps-{steps}"
        averaging = ["--average-generators", str(DECAY)] if steps == 3 else []
        extra = ["--steps", str(steps), "--lr", "1e-2", *averaging]
        result = train(runner, out, *extra)
        assert result.exit_code == 0, result.output
        lives.append(live_generators(out / "checkpoint.safetensors"))
    settings = read_checkpoint_settings(tmp_path / "steps-3" / "checkpoint.safetensors")
    assert settings.average_generators == DECAY
    nets = build_networks(settings.net, 1, 3, seed=SEED, device=torch.device("cpu"))
    params = {
        f"{name}.{key}": value.detach()
        for name, module in (("G_ab", nets.g_ab), ("G_ba", nets.g_ba))
        for key, value in module.named_parameters()
    }
    assert set(params) <= set(lives[0])
    expected = dict(params)
    for step, live in enumerate(lives, start=1):
        keep = min(DECAY, (1 + step) / (10 + step))
        expected = {k: keep * v + (1 - keep) * live[k] for k, v in expected.items()}

    stored = load_file(str(tmp_path / "steps-3" / "checkpoint.safetensors"))
    exported = load_file(str(tmp_path / "steps-3" / "weights.safetensors"))
    for key, value in expected.items():
        assert torch.allclose(stored[f"avg.{key}"], value, atol=1e-6), key
        assert torch.equal(exported[key], stored[f"avg.{key}"]), key
    moved = [k for k in expected if not torch.allclose(expected[k], lives[2][k], atol=1e-3)]
    assert len(moved) > len(expected) // 2  # the average is not the last step's weights


def test_a_run_without_averaging_exports_its_live_weights(runner, tmp_path):
    out = tmp_path / "run"
    assert train(runner, out, "--steps", "2").exit_code == 0
    stored = load_file(str(out / "checkpoint.safetensors"))
    exported = load_file(str(out / "weights.safetensors"))
    assert not any(key.startswith("avg.") for key in stored)
    params = [k for k in exported if k.startswith("G_") and k.endswith((".weight", ".bias"))]
    assert params and all(torch.equal(exported[k], stored[f"net.{k}"]) for k in params)


@pytest.mark.parametrize("value", ["1", "-0.1", "nan"])
def test_a_decay_outside_zero_to_one_is_one_line(runner, tmp_path, value):
    result = train(runner, tmp_path / "run", "--steps", "1", "--average-generators", value)
    assert_one_line_error(result, "--average-generators")
    assert not (tmp_path / "run").exists()
