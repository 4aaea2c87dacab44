"""The package's folders show its architecture, and the imports keep to it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "mnist_cyclegan"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def imports_of(files: list[Path], prefix: str) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if module == prefix or module.startswith(prefix + ".")
    ]


def test_the_reference_imports_nothing_from_the_speed_kit_or_the_machinery():
    files = sorted((PACKAGE / "cyclegan").glob("*.py"))
    assert len(files) >= 6
    for prefix in ("mnist_cyclegan.fast", "mnist_cyclegan.training", "mnist_cyclegan.evaluation"):
        assert imports_of(files, prefix) == []


@pytest.mark.parametrize("name", ["translate.py", "weights.py", "evaluation"])
def test_inference_and_judging_import_nothing_from_training_or_the_speed_kit(name):
    path = PACKAGE / name
    files = sorted(path.glob("*.py")) if path.is_dir() else [path]
    for prefix in ("mnist_cyclegan.training", "mnist_cyclegan.fast"):
        assert imports_of(files, prefix) == []


def test_translate_and_eval_commands_import_nothing_from_training():
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    commands = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    for name in ("translate", "evaluate_command"):
        found = [
            node.module
            for node in ast.walk(commands[name])
            if isinstance(node, ast.ImportFrom) and "training" in (node.module or "")
        ]
        assert found == [], name


def test_no_function_in_the_training_package_runs_over_60_lines():
    long = [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in sorted((PACKAGE / "training").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long == []


def test_the_layout_page_names_every_module_and_only_files_that_exist():
    layout = (PACKAGE.parent / "docs" / "layout.md").read_text()
    named = re.findall(r"`([\w/]+\.py)`", layout)
    assert len(named) >= 30, "the layout section names the modules"
    assert [name for name in named if not (PACKAGE / name).is_file()] == []
    modules = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    unnamed = {m for m in modules if not m.endswith("__init__.py")} - set(named)
    assert unnamed <= {"__main__.py"}, unnamed


def test_benchmarks_holds_what_benchmarks_md_runs_and_nothing_else():
    """Every script in benchmarks/ is named on BENCHMARKS.md or README, or run by one that is
    (gpu_check.sh runs time_to_quality.py); experiments behind docs/measurements.md live in
    experiments/, each named on its README."""
    root = PACKAGE.parent
    pages = (root / "BENCHMARKS.md").read_text() + (root / "README.md").read_text()
    named = set(re.findall(r"benchmarks/([\w.-]+)", pages))
    scripts = {path.name for path in (root / "benchmarks").iterdir() if path.is_file()}
    called = {
        m
        for name in named & scripts
        for m in re.findall(r"benchmarks/([\w.-]+)", (root / "benchmarks" / name).read_text())
    }
    assert scripts - named - called == set()
    listed = (root / "experiments" / "README.md").read_text()
    experiments = {path.name for path in (root / "experiments").iterdir()} - {"README.md"}
    assert {name for name in experiments if f"`{name}`" not in listed} == set()
