"""No import circles in the package, imports inside functions included, and the reference
(cyclegan/) imports the settings schema and torch alone."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "mnist_cyclegan"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """The package's modules a file imports, anywhere in it: `from a import b` names the
    module a.b where there is one, else a."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return {name for name in found if name in MODULES}


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def cycle_from(start: str) -> list[str] | None:
    """A path of imports from `start` back to itself, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        name, path = stack.pop()
        for imported in GRAPH[name]:
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


def test_the_walk_sees_imports_inside_functions():
    assert (
        "mnist_cyclegan.training.trainer" in GRAPH["mnist_cyclegan.train_command"]
    )  # in a function
    assert "mnist_cyclegan.api" in GRAPH["mnist_cyclegan"]  # inside `__getattr__`


def test_no_module_imports_itself_through_others():
    cycles = [" -> ".join(c) for name in sorted(GRAPH) if (c := cycle_from(name))]
    assert cycles == []


def test_the_reference_reads_only_torch_and_the_settings_schema():
    allowed = {"mnist_cyclegan.config"}
    for name, imported in GRAPH.items():
        if name.startswith("mnist_cyclegan.cyclegan"):
            outside = {m for m in imported if not m.startswith("mnist_cyclegan.cyclegan")}
            assert outside <= allowed, (name, outside - allowed)


def test_the_settings_schema_reads_no_file_and_evaluation_prints_nothing():
    assert GRAPH["mnist_cyclegan.config"] <= {
        "mnist_cyclegan.domains",
        "mnist_cyclegan.errors",
        "mnist_cyclegan.presets",
    }
    for name, imported in GRAPH.items():
        if name.startswith("mnist_cyclegan.evaluation"):
            assert "mnist_cyclegan.console" not in imported, name
            source = MODULES[name].read_text()
            assert "print(" not in source and "rich" not in source, name
