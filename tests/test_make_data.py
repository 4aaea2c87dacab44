"""`mnistgan make-data` run the way a user runs it, on the real embedded MNIST."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli
from PIL import Image

from mnist_cyclegan.data import load_domain, load_mnist


def test_make_data_writes_a_keras_style_npz_and_preview(runner, tmp_path):
    out, preview = tmp_path / "cd.npz", tmp_path / "cd.png"
    result = run_cli(
        runner, "make-data", "--domain", "colored-digit", "--out", out, "--preview", preview
    )
    assert result.exit_code == 0, result.output
    with np.load(out, allow_pickle=False) as archive:
        assert {"x_train", "y_train", "x_test", "y_test", "colors_train", "settings"} <= set(
            archive.files
        )
        assert archive["x_train"].shape == (60000, 28, 28, 3)
        assert archive["x_test"].dtype == np.uint8
        assert np.array_equal(archive["y_test"], load_mnist().y_test)
    assert Image.open(preview).size == (2 * (8 * 30 + 2), 2 * (8 * 30 + 2))
    loaded = load_domain(out)
    assert loaded.domain == "colored-digit" and loaded.style == "threshold"


def test_same_seed_same_bytes_other_seed_differs(runner, tmp_path):
    paths = [tmp_path / f"{i}.npz" for i in range(3)]
    for path, seed in zip(paths, [5, 5, 6], strict=True):
        args = ["make-data", "--domain", "colored-background", "--seed", seed, "--out", path]
        assert run_cli(runner, *args).exit_code == 0
    first, again, other = (load_domain(p) for p in paths)
    assert first.x_train.tobytes() == again.x_train.tobytes()
    assert first.x_test.tobytes() == again.x_test.tobytes()
    assert first.x_train.tobytes() != other.x_train.tobytes()


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


@pytest.mark.parametrize("compress", [False, True])
def test_reads_an_idx_folder(runner, tmp_path, compress):
    mnist = load_mnist()
    folder = tmp_path / "idx"
    folder.mkdir()
    suffix = ".gz" if compress else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", mnist.x_train[:300], compress)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", mnist.y_train[:300], compress)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", mnist.x_test[:100], compress)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", mnist.y_test[:100], compress)
    out = tmp_path / "m.npz"
    result = run_cli(runner, "make-data", "--domain", "mnist", "--mnist", folder, "--out", out)
    assert result.exit_code == 0, result.output
    loaded = load_domain(out)
    assert np.array_equal(loaded.x_train, mnist.x_train[:300])
    assert np.array_equal(loaded.y_test, mnist.y_test[:100])


def test_reads_a_keras_npz(runner, tmp_path):
    mnist = load_mnist()
    source = tmp_path / "small.npz"
    np.savez(
        source,
        x_train=mnist.x_train[:200],
        y_train=mnist.y_train[:200],
        x_test=mnist.x_test[:50],
        y_test=mnist.y_test[:50],
    )
    out = tmp_path / "cb.npz"
    args = ["make-data", "--domain", "colored-background", "--mnist", source, "--out", out]
    result = run_cli(runner, *args)
    assert result.exit_code == 0, result.output
    loaded = load_domain(out)
    assert loaded.x_train.shape == (200, 28, 28, 3)
    grey = mnist.x_train[:200]
    ink = grey >= 127.5  # the digit stays white (its grey value), the background is one colour
    assert np.array_equal(loaded.x_train[ink], np.repeat(grey[ink][:, None], 3, axis=1))
    background = np.broadcast_to(loaded.colors_train[:, None, None, :], loaded.x_train.shape)
    assert np.array_equal(loaded.x_train[~ink], background[~ink])


def test_bad_inputs_fail_with_one_line_and_touch_nothing(runner, tmp_path):
    existing = tmp_path / "existing.npz"
    existing.write_bytes(b"precious")
    text = tmp_path / "notes.txt"
    text.write_text("not mnist")
    truncated = tmp_path / "truncated.npz"
    good = tmp_path / "good.npz"
    mnist = load_mnist()
    np.savez(good, x_train=mnist.x_train[:50], y_train=mnist.y_train[:50],
             x_test=mnist.x_test[:5], y_test=mnist.y_test[:5])  # fmt: skip
    truncated.write_bytes(good.read_bytes()[:3000])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    out = tmp_path / "out.npz"
    cases = [
        (["--domain", "mnist", "--mnist", tmp_path / "missing.npz", "--out", out], "missing.npz"),
        (["--domain", "mnist", "--mnist", text, "--out", out], "notes.txt"),
        (["--domain", "mnist", "--mnist", truncated, "--out", out], "truncated.npz"),
        (["--domain", "sepia", "--out", out], "sepia"),
        (["--domain", "mnist", "--style", "smudge", "--out", out], "smudge"),
        (["--domain", "mnist", "--out", existing], "--force"),
    ]
    if os.geteuid() != 0:  # root writes anywhere; the unwritable case is checked below instead
        cases.append((["--domain", "mnist", "--out", locked / "x.npz"], "locked"))
    for args, fragment in cases:
        result = run_cli(runner, "make-data", *args)
        assert_one_line_error(result, fragment)
    assert existing.read_bytes() == b"precious"
    assert not out.exists()
    notdir = tmp_path / "plainfile"
    notdir.write_text("x")
    assert_one_line_error(
        run_cli(runner, "make-data", "--domain", "mnist", "--out", notdir / "x.npz"), "plainfile"
    )


def test_console_script_reports_usage_errors_on_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mnist_cyclegan", "make-data", "--seed", "abc", "--domain", "mnist"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--seed" in lines[0], result.stderr
    assert not list(tmp_path.iterdir())
