"""No import circles in the package, imports inside functions included, and the reference
(cyclegan/) imports torch alone at run time. Imports under `if TYPE_CHECKING:` never run (they
name types for hints) and are not counted; tests/test_layout.py counts them too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "mnist_cyclegan"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def runtime_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node of a file but those under `if TYPE_CHECKING:`."""
    hints_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for statement in block.body
        for node in ast.walk(statement)
    }
    return [node for node in ast.walk(tree) if id(node) not in hints_only]


def imports_of(path: Path) -> set[str]:
    """The package's modules a file imports when it runs, anywhere in it: `from a import b`
    names the module a.b where there is one, else a."""
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text())):
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


def reached_from(start: str) -> set[str]:
    """Every module importing `start` runs, itself included."""
    reached, stack = {start}, [start]
    while stack:
        for imported in GRAPH[stack.pop()] - reached:
            reached.add(imported)
            stack.append(imported)
    return reached


def test_the_reference_reads_only_torch():
    for name, imported in GRAPH.items():
        if name.startswith("mnist_cyclegan.cyclegan"):
            outside = {m for m in imported if not m.startswith("mnist_cyclegan.cyclegan")}
            assert outside == set(), (name, outside)


def test_the_settings_schema_reads_no_file_and_evaluation_prints_nothing():
    assert GRAPH["mnist_cyclegan.settings.schema"] <= {
        "mnist_cyclegan.domains",
        "mnist_cyclegan.errors",
        "mnist_cyclegan.settings.fields",
        "mnist_cyclegan.settings.presets",
        "mnist_cyclegan.variants.registry",  # each addition's settings
    }
    readers = (
        "data",
        "training",
        "evaluation",
        "weights",
        "tensor_files",
        "atomic",
        "settings.resolve",
    )
    reached = reached_from("mnist_cyclegan.settings.schema")
    assert {
        m for m in reached if m.startswith(tuple(f"mnist_cyclegan.{r}" for r in readers))
    } == set()
    assert GRAPH["mnist_cyclegan.settings.fields"] == set()  # an addition declares settings here
    for name, imported in GRAPH.items():
        if name.startswith("mnist_cyclegan.evaluation"):
            assert "mnist_cyclegan.console" not in imported, name
            source = MODULES[name].read_text()
            assert "print(" not in source and "rich" not in source, name
