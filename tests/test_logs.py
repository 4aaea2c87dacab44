"""Logs people already read: TensorBoard events, plain progress lines when piped, and
`--config` to rerun a run's settings."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import TINY, assert_one_line_error, run_cli


def test_tensorboard_events_hold_the_logged_scalars_and_samples(runner, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, board = tmp_path / "run", tmp_path / "board"
    args = ["train", "--out", out, "--steps", "6", "--log-every", "2", "--tensorboard", board]
    result = run_cli(runner, *args, *TINY)
    assert result.exit_code == 0, result.output
    events = EventAccumulator(str(board))
    events.Reload()
    tags = events.Tags()
    assert {"loss/cycle", "loss/d_a", "loss/g_total", "learning_rate"} <= set(tags["scalars"])
    cycle = events.Scalars("loss/cycle")
    assert [e.step for e in cycle] == [2, 4, 6]
    logged = [line.split(",") for line in (out / "losses.csv").read_text().splitlines()]
    column = logged[0].index("cycle")
    assert [round(e.value, 4) for e in cycle] == [round(float(r[column]), 4) for r in logged[1:]]
    assert abs(events.Scalars("learning_rate")[0].value - 2e-4) < 1e-9  # float32 in the event
    assert "samples" in tags["images"]


def test_progress_is_plain_lines_when_piped(tmp_path):
    command = [sys.executable, "-m", "mnist_cyclegan", "train", "--out", str(tmp_path / "run"),
               "--steps", "40", "--device", "cpu", *map(str, TINY)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("data: A (mnist) 320 training images, each seen 2.0 times")
    assert lines[1] == "train: 40 steps, 20 per epoch"
    assert [line.split()[1] for line in lines if line.startswith("step ")] == ["40/40"]
    assert [line.split(":")[0] for line in lines if line.startswith("epoch ")] == [
        "epoch 0",
        "epoch 1",
    ]
    assert "\x1b[" not in result.stdout  # no terminal control codes


def test_config_reruns_a_runs_settings_with_flags_on_top(runner, tmp_path):
    first = tmp_path / "first"
    args = ["train", "--out", first, "--steps", "3", "--lambda-identity", "2", "--seed", "7"]
    assert run_cli(runner, *args, *TINY).exit_code == 0
    again = tmp_path / "again"
    result = run_cli(runner, "train", "--config", first / "config.json", "--out", again,
                     "--steps", "2", "--lr", "0.001")  # fmt: skip
    assert result.exit_code == 0, result.output
    before = json.loads((first / "config.json").read_text())["settings"]
    after = json.loads((again / "config.json").read_text())["settings"]
    assert after == {**before, "steps": 2, "lr": 0.001}
    assert_one_line_error(
        run_cli(runner, "train", "--config", first / "config.json", "--out", again, "--resume"),
        "--config",
    )
    (tmp_path / "bad.json").write_text('{"settings": {"seed": NaN}}')
    assert_one_line_error(
        run_cli(runner, "train", "--config", tmp_path / "bad.json", "--out", tmp_path / "x"),
        "bad.json",
    )
