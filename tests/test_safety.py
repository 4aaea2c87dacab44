"""What every command promises about the user's files: interrupted commands leave no partial
outputs or temporaries, files get ordinary permissions, translate's memory is bounded per
batch, images are read upright, and a damaged classifier cache heals itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import TINY, run_cli
from PIL import Image

from mnist_cyclegan import translate
from mnist_cyclegan.api import Translator
from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.errors import Interrupted


def digits_folder(folder, count: int, size: int = 28):
    folder.mkdir()
    for i, grey in enumerate(load_mnist().x_test[:count]):
        Image.fromarray(grey).resize((size, size)).save(folder / f"d{i:03d}.png")
    return folder


def test_sigterm_during_make_data_leaves_nothing_and_a_rerun_works(tmp_path):
    out = tmp_path / "data" / "digits.npz"
    preview = tmp_path / "data" / "p.png"
    command = [sys.executable, "-m", "mnist_cyclegan", "make-data", "--domain",
               "colored-digit", "--out", str(out), "--preview", str(preview)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out.parent.exists() and any(out.parent.iterdir())):  # writing has begun
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "error: interrupted"
    assert list(out.parent.iterdir()) == []  # no npz, no preview, no temporary
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["digits.npz", "p.png"]


def test_an_interrupted_translate_writes_none_of_its_outputs(
    runner, tmp_path, weights, monkeypatch
):
    inputs = digits_folder(tmp_path / "in", 30)
    real = translate.write_batch
    calls = {"n": 0}

    def interrupted_on_the_third_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Interrupted("SIGTERM")  # what the signal handler raises mid-command
        return real(*args, **kwargs)

    monkeypatch.setattr(translate, "PIXEL_BUDGET", 28 * 28 * 8)
    monkeypatch.setattr(translate, "write_batch", interrupted_on_the_third_batch)
    with pytest.raises(Interrupted):
        run_cli(runner, "translate", weights, inputs, tmp_path / "out")
    leftovers = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert leftovers == []


def test_translate_batches_stay_within_the_pixel_budget(runner, tmp_path, weights, monkeypatch):
    small = digits_folder(tmp_path / "in", 20)
    Image.fromarray(load_mnist().x_test[50]).resize((96, 96)).save(small / "big.png")
    sizes = []
    real = Translator.translate_uint8

    def recording(self, stack, direction, **options):
        sizes.append(stack.shape)
        return real(self, stack, direction, **options)

    budget = 28 * 28 * 6  # 6 digits a batch; the 96×96 image is over it and goes alone
    monkeypatch.setattr(translate, "PIXEL_BUDGET", budget)
    monkeypatch.setattr(Translator, "translate_uint8", recording)
    result = run_cli(runner, "translate", weights, small, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(s[0] for s in sizes if s[1:3] == (28, 28)) == [2, 6, 6, 6]
    assert [s[0] for s in sizes if s[1:3] == (96, 96)] == [1]
    assert len(list((tmp_path / "out").iterdir())) == 21


def test_exif_orientation_is_applied(runner, tmp_path, weights):
    """A phone photo stored sideways with orientation 6 (rotate 90°) is read upright."""
    stored = np.zeros((40, 60), np.uint8)  # 60 wide, 40 high as stored
    stored[:, :10] = 255
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "sideways.jpg", exif=exif.tobytes())
    result = run_cli(runner, "translate", weights, tmp_path / "sideways.jpg", tmp_path / "o.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "o.png").size == (40, 60)  # upright: 40 wide, 60 high


def test_files_get_the_permissions_of_the_umask(runner, tmp_path, weights):
    previous = os.umask(0o027)
    try:
        out = tmp_path / "run"
        assert run_cli(runner, "train", "--out", out, "--steps", "1", *TINY).exit_code == 0
        digit = tmp_path / "d.png"
        Image.fromarray(load_mnist().x_test[0]).save(digit)
        assert run_cli(runner, "translate", weights, digit, tmp_path / "t.png").exit_code == 0
    finally:
        os.umask(previous)
    for path in (out / "weights.safetensors", out / "checkpoint.safetensors", tmp_path / "t.png"):
        assert oct(path.stat().st_mode & 0o777) == oct(0o640), path


def test_a_damaged_cached_classifier_is_trained_again_with_a_warning(runner, tmp_path, weights):
    home = tmp_path / "home"
    os.environ["MNISTGAN_HOME"] = str(home)  # restored by conftest's monkeypatch
    first = run_cli(runner, "eval", weights, "--limit", "50")
    assert first.exit_code == 0, first.output
    cached = sorted(home.glob("classifier-*.safetensors"))
    assert len(cached) == 2
    cached[0].write_bytes(cached[0].read_bytes()[:1000])
    again = run_cli(runner, "eval", weights, "--limit", "50")
    assert again.exit_code == 0, again.output
    warnings = [line for line in again.stderr.splitlines() if line.strip()]
    # One line for the damaged file; a 3-step model may also be told it did not translate or
    # that its backgrounds are not flat.
    about_model = ("did not translate", "backgrounds are not flat")
    about_cache = [line for line in warnings if not any(text in line for text in about_model)]
    assert len(about_cache) == 1 and about_cache[0].startswith("warning:")
    assert cached[0].name in about_cache[0]
    assert cached[0].stat().st_size > 1000  # rebuilt


def test_a_run_resumes_beside_the_users_own_notes(runner, tmp_path):
    out = tmp_path / "run"
    assert run_cli(runner, "train", "--out", out, "--steps", "2", *TINY).exit_code == 0
    (out / "NOTES.md").write_text("why I started this run")
    result = run_cli(runner, "train", "--out", out, "--resume", "--steps", "3", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert (out / "NOTES.md").read_text() == "why I started this run"


def test_a_refused_run_leaves_the_users_empty_folder_in_place(runner, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    missing = tmp_path / "missing.npz"  # fails after the folder is locked, while loading data
    result = run_cli(runner, "train", "--out", folder, "--steps", "1", "--data-a", missing)
    assert result.exit_code != 0 and "missing.npz" in result.stderr
    assert folder.is_dir() and list(folder.iterdir()) == []
    created = tmp_path / "new"
    run_cli(runner, "train", "--out", created, "--steps", "1", "--data-a", missing)
    assert not created.exists()  # a folder the failed run made is removed again
