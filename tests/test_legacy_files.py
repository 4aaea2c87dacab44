"""Files written by the release before the package's layout change still load and run.

tests/data/legacy holds weights and checkpoints that release (commit 0f0d486) wrote for tiny
reference and quick designs, and what its generators made of the first 8 test digits.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli
from safetensors.torch import load_file

from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.cyclegan.step import build_optimizers
from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.evaluation.translation import translate_batches
from mnist_cyclegan.training.checkpoint import load_checkpoint, read_checkpoint_settings
from mnist_cyclegan.variants.factory import build_networks
from mnist_cyclegan.weights import load_generators

LEGACY = Path(__file__).parent / "data" / "legacy"
DESIGNS = ("quick", "reference")


@pytest.mark.parametrize("design", DESIGNS)
def test_old_weights_translate_as_they_did(design):
    g_ab, g_ba, meta = load_generators(LEGACY / f"{design}-weights.safetensors")
    assert meta.step is not None and meta.settings is not None
    expected = np.load(LEGACY / "expected-outputs.npz", allow_pickle=False)
    cpu = torch.device("cpu")
    a = domain_arrays(meta.domain_a, style=meta.style, seed=meta.seed).x_test[:8]
    b = domain_arrays(meta.domain_b, style=meta.style, seed=meta.seed + 1).x_test[:8]
    for name, got in (
        ("a2b", translate_batches(g_ab, a, meta.output, cpu)),
        ("b2a", translate_batches(g_ba, b, meta.output, cpu)),
    ):
        want = expected[f"{design}_{name}"]
        assert got.shape == want.shape
        # the old release ran these through its CPU kernels, these are PyTorch's: the same
        # sums in float32, so a pixel may round to the next grey level, and rarely
        off = np.abs(got.astype(int) - want.astype(int))
        assert off.max() <= 1 and (off > 0).mean() < 0.01, (name, off.max(), (off > 0).mean())


@pytest.mark.parametrize("design", DESIGNS)
def test_old_checkpoints_restore_every_tensor(design):
    path = LEGACY / f"{design}-checkpoint.safetensors"
    settings = read_checkpoint_settings(path)
    cpu = torch.device("cpu")
    nets = build_networks(settings.net, 1, 3, seed=99, device=cpu)
    optimizers = build_optimizers(nets, settings, cpu)
    pools = (ImagePool(settings.pool_size, 0), ImagePool(settings.pool_size, 1))
    progress = load_checkpoint(path, nets=nets, optimizers=optimizers, pools=pools, device=cpu)
    stored = load_file(str(path))
    assert progress.step == int(optimizers[0].state_dict()["state"][0]["step"]) > 0
    for name, module in nets.named().items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, stored[f"net.{name}.{key}"]), (name, key)
    assert pools[0].images is not None and torch.equal(pools[0].images, stored["pool_a.images"])


@pytest.mark.parametrize("design", DESIGNS)
def test_an_old_run_resumes_through_the_cli(runner, tmp_path, design):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(LEGACY / f"{design}-checkpoint.safetensors", run / "checkpoint.safetensors")
    before = read_checkpoint_settings(run / "checkpoint.safetensors")
    result = run_cli(runner, "train", "--out", run, "--resume", "--steps", "5", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "done: step 5/5" in result.output
    state = load_file(str(run / "checkpoint.safetensors"))
    assert int(state["opt_g.0.step"]) == 5
    assert read_checkpoint_settings(run / "checkpoint.safetensors") == replace(before, steps=5)
    _, _, meta = load_generators(run / "weights.safetensors")
    assert meta.step == 5 and meta.net == before.net
