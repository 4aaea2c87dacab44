"""Shared fixtures: a CLI runner with a fixed width, caches and outputs under tmp paths."""

from __future__ import annotations

import csv
import os
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

# A narrow network on a few hundred real digits keeps each run to seconds on 2 cores; the
# reference widths are checked in test_nets.py and timed in benchmarks/.
TINY_NET = ["--gen-width", "8", "--res-blocks", "1", "--disc-width", "8"]
TINY = [*TINY_NET, "--batch-size", "16", "--train-digits", "320"]

os.environ.setdefault("COLUMNS", "120")
os.environ["TERM"] = "dumb"

# Under pytest-xdist (`-n auto`, the README's test command) each worker process takes one
# thread: with two each on 2 cores, the workers' OpenMP threads spin on each other's cores
# (docs/measurements.md, "The test suite in two processes"). Runs a test starts inherit the one
# thread; tests of a two-thread path ask for `two_threads` or set their own count.
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Point the classifier cache at one folder per test session, never at the user's home."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own base folder; they share one cache beside them, as
    # two runs of a user's share ~/.cache/mnistgan (its files are written atomically).
    home = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "mnistgan-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("MNISTGAN_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "120")
    # Eval's classifiers trained on 8,000 digits (seconds, ~97%) instead of 60,000 (a minute).
    monkeypatch.setenv("MNISTGAN_CLASSIFIER_DIGITS", "8000")


@pytest.fixture
def two_threads():
    """Two threads for this test, as a user's run has on 2 cores (each update's halves side by
    side), even in a test worker that runs on one."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A real tiny run, mnist ↔ colored-background (3 steps, a history pool of 4, so its
    checkpoint holds every kind of tensor): its weights to translate with, its files to forge
    from. Tests copy what they change."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    result = run_cli(CliRunner(), "train", "--out", out, "--steps", "3", "--pool-size", "4", *TINY)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def weights(tiny_run):
    """The tiny run's weights.safetensors."""
    return tiny_run / "weights.safetensors"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})


def run_cli(runner: CliRunner, *args: str):
    """Invoke the app as a user would and return the result."""
    from mnist_cyclegan.cli import app

    return runner.invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def logged_losses(runner: CliRunner, out: Path, *flags: str) -> list[dict[str, str]]:
    """`train --preset quick` with `flags` for 3 steps on tiny data, logging every step: the
    rows of its losses.csv (the run must succeed)."""
    result = run_cli(
        runner, "train", "--preset", "quick", "--steps", "3", "--log-every", "1", *flags,
        "--device", "cpu", "--out", out, *TINY,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (out / "losses.csv").open() as table:
        return list(csv.DictReader(table))


def assert_resumes_bit_identical(runner, folder, common: list, steps: int, stop_at: int) -> None:
    """A run of `steps` steps and one stopped at `stop_at` then resumed end on the same
    weights, bit for bit (`common`: the train flags both share)."""
    import torch
    from safetensors.torch import load_file

    whole, split = folder / "whole", folder / "split"
    assert run_cli(runner, "train", "--out", whole, "--steps", str(steps), *common).exit_code == 0
    assert run_cli(runner, "train", "--out", split, "--steps", str(stop_at), *common).exit_code == 0
    resumed = run_cli(runner, "train", "--out", split, "--resume", "--steps", str(steps))
    assert resumed.exit_code == 0, resumed.output
    a, b = (load_file(str(run / "weights.safetensors")) for run in (whole, split))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def assert_users_error(line: str) -> None:
    """The line is our word on the user's input, not the catch-all for our own bugs
    (console.describe_failure): no user input may reach that."""
    assert "(please report it" not in line and "error: unexpected " not in line, line


def assert_one_line_error(result, *fragments: str) -> None:
    """A failure must exit non-zero with one line on stderr naming the problem, no traceback,
    and not the catch-all line for an exception no check caught."""
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert_users_error(lines[0])
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def run_process(*args: str, env: dict | None = None, cwd=None):
    """Run `python -m mnist_cyclegan ARGS` as a user's shell does: through `main`, which turns
    usage errors (a value not among an option's choices) into one line on stderr."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "mnist_cyclegan", *map(str, args)]
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=300
    )


def assert_one_line_process_error(result, *fragments: str) -> None:
    """`assert_one_line_error` for a finished process."""
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert_users_error(lines[0])
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def unblock_readers_later(pipe, seconds: float = 20.0) -> None:
    """Should a reader open `pipe` after all, write to it once `seconds` have passed, so the
    test fails on a wrong message instead of hanging the suite."""

    def writer() -> None:
        deadline = time.monotonic() + seconds + 30
        time.sleep(seconds)
        while time.monotonic() < deadline:
            try:
                handle = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO: no reader yet
            except OSError:
                time.sleep(0.5)
                continue
            os.close(handle)
            return

    threading.Thread(target=writer, daemon=True).start()


@pytest.fixture(scope="session")
def labelled_digits():
    """200 real MNIST training digits and their labels: the semantic-consistency tests' sets."""
    from mnist_cyclegan.data import load_mnist

    mnist = load_mnist()
    return mnist.x_train[:200], mnist.y_train[:200]
