"""Each bundled model keeps digits it never saw, both ways: digits typed in fonts (not MNIST),
read by an independent reader of the target domain, lose at most 3 points of accuracy
against the same digits rendered into the target domain by the rule
(benchmarks/typed_digits.py, which BENCHMARKS.md runs on 10,000 digits)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mnist_cyclegan.pretrained import bundled_models

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "typed_digits.py"
_spec = importlib.util.spec_from_file_location("typed_digits", SCRIPT)
_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_script)  # benchmarks/ is no package: the script loaded from its file
ALLOWED_LOSS, check_model, reader, typed_digits = (
    _script.ALLOWED_LOSS, _script.check_model, _script.reader, _script.typed_digits
)  # fmt: skip

COUNT = 1500  # typed digits checked per direction
READER_DIGITS = 8000  # typed and MNIST digits each reader trains on


@pytest.fixture(scope="module")
def typed():
    return typed_digits(COUNT, np.random.default_rng(0))


@pytest.fixture(scope="module")
def readers():
    domains = ("mnist", "colored-background", "colored-digit")
    return {domain: reader(domain, READER_DIGITS, 0) for domain in domains}


def test_the_readers_read_typed_digits_rendered_by_the_rule(typed, readers):
    rows = check_model("mnist-colored-background", *typed, 0, readers)
    assert all(row["rule"] >= 0.9 for row in rows), rows


@pytest.mark.parametrize("model", bundled_models(), ids=lambda m: m.name)
def test_each_bundled_model_keeps_typed_digits_both_ways(model, typed, readers):
    for row in check_model(model.name, *typed, 0, readers):
        assert row["loss"] <= ALLOWED_LOSS, row
