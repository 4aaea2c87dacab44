"""What a user trains does not change when the code is reorganised.

Four short runs through the CLI, as a user starts them (20 quick-preset steps on each pair of
domains, 4 steps of the reference design), must leave weights and checkpoints whose tensors are
bit for bit those recorded in `tests/data/unchanged-digests.json` before the code was
restructured (at commit 780cbba). Only the tensors are compared, by name, dtype,
shape and bytes: the JSON settings beside them may gain or rename fields as long as old files
still load (tests/test_legacy_files.py). The loss log has gained columns since (the shape term's):
a checkpoint's loss tensors are compared on the columns logged when the digests were recorded,
found by the names the checkpoint gives its columns; a column added later is new information,
not a change of what was computed.

Float arithmetic is only reproducible on the machine and torch build that recorded it (another
CPU picks other oneDNN kernels), so the digests are kept per machine: the test compares where
this machine's fingerprint was recorded and says how to record it elsewhere. To record, on the
code to compare against: `MNISTGAN_RECORD_DIGESTS=1 python -m pytest tests/test_unchanged.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

import pytest
import torch
from conftest import run_cli
from safetensors import safe_open

DIGESTS = Path(__file__).parent / "data" / "unchanged-digests.json"
PAIRS = [
    ("mnist", "colored-background"),
    ("mnist", "colored-digit"),
    ("colored-background", "colored-digit"),
]
RUNS = {
    **{f"quick-{a}-{b}": ["--preset", "quick", "--domain-a", a, "--domain-b", b, "--steps", "20"]
       for a, b in PAIRS},
    "reference": ["--preset", "reference", "--steps", "4"],
}  # fmt: skip
FILES = ("weights.safetensors", "checkpoint.safetensors")
RECORDED_COLUMNS = ("g_total", "g_gan_ab", "g_gan_ba", "cycle", "identity", "d_a", "d_b")
LEADING = {"history": 2, "epoch_sums": 0}  # columns before the losses: step, epoch


def machine() -> str:
    """What float results depend on besides the code: torch build, CPU and its kernels."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    capability = torch.backends.cpu.get_cpu_capability()
    return f"torch {torch.__version__}, {capability}, {cpu}, {torch.get_num_threads()} threads"


def tensor_digest(path: Path) -> str:
    """One SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    with safe_open(str(path), framework="pt") as file:
        meta = json.loads((file.metadata() or {}).get("meta", "{}"))
        columns = meta.get("loss_columns")
        for name in sorted(file.keys()):
            tensor = file.get_tensor(name)
            if columns is not None and name in LEADING:
                tensor = recorded_columns(tensor, columns, LEADING[name])
            digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def recorded_columns(tensor: torch.Tensor, columns: list[str], leading: int) -> torch.Tensor:
    """A loss tensor's leading columns and, by name, the loss columns logged when the
    digests were recorded."""
    keep = [*range(leading), *(leading + columns.index(name) for name in RECORDED_COLUMNS)]
    return tensor[..., keep]


def recorded() -> dict:
    return json.loads(DIGESTS.read_text()) if DIGESTS.is_file() else {}


@pytest.mark.parametrize("name", list(RUNS))
def test_a_short_run_leaves_the_tensors_it_left_before(name, tmp_path, runner, two_threads):
    book, here = recorded(), machine()
    recording = bool(os.environ.get("MNISTGAN_RECORD_DIGESTS"))
    if here not in book and not recording:  # before the run: nothing to compare it with
        pytest.skip(f"no digests recorded on {here}: record them on the code to compare with")
    out = tmp_path / name
    result = run_cli(runner, "train", "--out", out, *RUNS[name])
    assert result.exit_code == 0, result.output
    digests = {file: tensor_digest(out / file) for file in FILES}
    if recording:
        book.setdefault(here, {})[name] = digests
        DIGESTS.parent.mkdir(parents=True, exist_ok=True)
        DIGESTS.write_text(json.dumps(book, indent=2, sort_keys=True) + "\n")
        return
    assert digests == book[here][name]
