"""The arrow points one way: `scenarios` knows nothing of `reference_app`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scenarios


@pytest.mark.slow(reason="parses every Python file of the scenarios package")
def test_scenarios_imports_nothing_from_reference_app() -> None:
    offenders = []
    for path in Path(scenarios.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "reference_app"]
    assert offenders == []
