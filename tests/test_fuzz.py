"""Random damage to real files never gives a traceback, a crash or a changed input: every run
either works or ends with one line on stderr. A fixed seed, a few hundred cases."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from forge import mnist_like, npz_bytes, snapshot, unchanged
from PIL import Image

from mnist_cyclegan.data import load_mnist


def damaged(data: bytes, rng: random.Random) -> bytes:
    """One of the ways files get broken: flipped bytes, a cut, an insertion, a duplicated or
    zeroed stretch, or a scrambled start (where headers live)."""
    data = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0:
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del data[rng.randrange(1, len(data)) :]
    elif kind == 2:
        at = rng.randrange(len(data))
        data[at:at] = rng.randbytes(rng.randint(1, 64))
    elif kind == 3:
        at, length = rng.randrange(len(data)), rng.randint(8, 512)
        data[at:at] = data[at : at + length]
    elif kind == 4:
        at = rng.randrange(len(data))
        data[at : at + rng.randint(1, 256)] = bytes(min(256, len(data) - at))
    else:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(min(len(data), 200))] = rng.randrange(256)
    return bytes(data)


def one_line_or_success(result) -> None:
    assert "Traceback" not in result.output + result.stderr
    if result.exit_code != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ") and "unexpected" not in lines[0], lines[0]


def fuzz(runner, folder: Path, original: Path, cases: int, seed: int, command) -> None:
    """`cases` damaged copies of `original` in `folder`, each fed to `command(path)`: a refusal
    leaves every file as it was; a success (damage a file can survive, as in tensor values)
    leaves its input as it was."""
    rng = random.Random(seed)
    data = original.read_bytes()
    outcomes = {"refused": 0, "worked": 0}
    for case in range(cases):
        target = folder / f"case{case}{original.suffix}"
        target.write_bytes(damaged(data, rng))
        args = command(target)
        before = snapshot(folder)
        result = run_cli(runner, *args)
        one_line_or_success(result)
        if result.exit_code != 0:
            assert unchanged(folder, before) == [], case
            outcomes["refused"] += 1
        else:
            assert unchanged(folder, {target.name: before[target.name]}) == [], case
            outcomes["worked"] += 1
        target.unlink()
    assert outcomes["refused"] >= cases // 8, outcomes  # the damage does reach the checks


def test_damaged_weights(runner, tmp_path, tiny_run):
    Image.fromarray(load_mnist().x_test[0]).save(tmp_path / "digit.png")
    out = tmp_path / "outputs"

    def translate(path):
        return ["translate", path, tmp_path / "digit.png", out / f"{path.stem}.png"]

    fuzz(runner, tmp_path, tiny_run / "weights.safetensors", 200, 1, translate)


def test_damaged_checkpoints(runner, tmp_path, tiny_run):
    run = tmp_path / "run"

    def resume(path):
        shutil.copytree(tiny_run, run, dirs_exist_ok=True)
        shutil.copy(path, run / "checkpoint.safetensors")
        return ["train", "--out", run, "--resume", "--steps", "4", "--device", "cpu"]

    fuzz(runner, tmp_path, tiny_run / "checkpoint.safetensors", 60, 2, resume)


def test_damaged_npz_files(runner, tmp_path):
    source = tmp_path / "digits.npz"
    source.write_bytes(npz_bytes(mnist_like()))

    def make_data(path):
        return ["make-data", "--domain", "colored-digit", "--mnist", path, "--out",
                tmp_path / "out" / f"{path.stem}.npz"]  # fmt: skip

    fuzz(runner, tmp_path, source, 100, 3, make_data)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".bmp"])
def test_damaged_images(runner, tmp_path, tiny_run, suffix):
    grey = load_mnist().x_test[1]
    picture = np.stack([grey, 255 - grey, grey // 2], axis=-1).astype(np.uint8)
    source = tmp_path / f"digit{suffix}"
    Image.fromarray(picture).resize((40, 40)).save(source)
    out = tmp_path / "outputs"

    def translate(path):
        return ["translate", tiny_run / "weights.safetensors", path, out / f"{path.stem}.png"]

    fuzz(runner, tmp_path, source, 60, 4, translate)
