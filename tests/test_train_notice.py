"""`mnistgan train` with no preset on a CPU is the reference schedule: days of training. It
says so, with the way to a good model in minutes, before the first step."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.training.duration import reference_notice


def test_a_bare_train_on_the_cpu_says_how_long_and_points_to_the_quick_preset(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "mnist_cyclegan", "train", "--device", "cpu",
         "--out", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip
    deadline, warning = time.monotonic() + 240, ""
    try:
        while not warning and time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([process.stderr], [], [], 1.0)
            if ready:
                line = process.stderr.readline()
                warning = line if line.startswith("warning:") else ""
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
    assert "the reference schedule (100 epochs" in warning, warning
    assert "--preset quick" in warning and "CPU cores" in warning
    assert " days " in warning or " h " in warning


def test_short_runs_and_quick_runs_say_nothing():
    settings = TrainSettings()
    assert reference_notice(settings, 100) is None
    long = reference_notice(settings, 100 * 859)
    assert long is not None and "85,900 steps" in long
