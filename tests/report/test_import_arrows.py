"""Data flows one way: the runner records, the report draws. No package of `scenarios` reaches
itself through its imports (lazy ones inside functions and `TYPE_CHECKING` ones included: the
old circle ran matrix -> stateful, for a type, -> stateful/search -> report, for `redact`, ->
matrix), and the runner, the matrix and the search never import the report."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scenarios

ROOT = Path(scenarios.__file__).parent


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports, anywhere in the file."""
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in known}
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(paths)
    return {name: imports_of(path, known) - {name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def package_of(module: str) -> str:
    return module if module.count(".") < 2 else ".".join(module.split(".")[:2])


@pytest.mark.slow(reason="parses every Python file of the scenarios package")
def test_no_import_circle_between_the_packages_of_scenarios() -> None:
    assert cycles(package_graph(ROOT)) == []


def package_graph(root: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in import_graph(root).items():
        graph.setdefault(package_of(module), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(module)
        )
    return graph


def test_the_circle_finder_finds_the_old_circle(tmp_path: Path) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # The old tree, in miniature: search.py imported `redact` from the report, lazily.
    old = tmp_path / "scenarios"
    (old / "stateful").mkdir(parents=True)
    (old / "__init__.py").write_text("")
    (old / "matrix.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from scenarios.stateful import StatefulSearch\n"
    )
    (old / "report.py").write_text("from scenarios.matrix import MatrixRun\n")
    (old / "stateful" / "__init__.py").write_text("from scenarios.stateful.search import x\n")
    (old / "stateful" / "search.py").write_text(
        "def _redact(text):\n    from scenarios.report import redact\n    return redact(text)\n"
    )
    assert cycles(package_graph(old)) != []


@pytest.mark.slow(reason="parses every Python file of the scenarios package")
def test_nothing_that_records_imports_what_draws() -> None:
    graph = import_graph()
    drawers = {name for name in graph if name.startswith("scenarios.reporting")}
    recorders = [
        name
        for name in graph
        if name.startswith(("scenarios.runner", "scenarios.matrix", "scenarios.stateful"))
        or name.startswith(("scenarios.case_result", "scenarios.scheduler"))
        or name.startswith(("scenarios.timeline", "scenarios.guard", "scenarios.redaction"))
    ]
    assert {name: graph[name] & drawers for name in recorders if graph[name] & drawers} == {}
