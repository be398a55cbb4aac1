"""Resolving `self.x` in a deep class hierarchy searches each class body once per name, not
once per read: privacyidea (a token class hierarchy whose methods read `self.x` thousands of
times) took minutes of CPU when every read walked the bases again. Counted, not timed."""

from __future__ import annotations

import ast
from pathlib import Path

from scenarios.lint.project import Project
from scenarios.lint.scope import Scope

DEPTH = 12  # classes in the chain
READS = 40  # `self.<name>` reads in each leaf method
NAMES = 5  # distinct names read


def _hierarchy() -> str:
    lines = ["class Base0:", "    def helper0(self) -> None: ...", ""]
    for level in range(1, DEPTH):
        lines += [
            f"class Base{level}(Base{level - 1}):",
            f"    def helper{level}(self) -> None: ...",
            "",
        ]
    body = [f"        self.helper{i % NAMES}()" for i in range(READS)]
    lines += [f"class Leaf(Base{DEPTH - 1}):"]
    for method in range(3):
        lines += [f"    def run{method}(self) -> None:", *body, ""]
    return "\n".join(lines) + "\n"


def test_method_lookups_do_not_grow_with_the_reads(tmp_path: Path) -> None:
    path = tmp_path / "tokens.py"
    path.write_text(_hierarchy())
    project = Project()
    module = project.add(path)
    leaf = module.classes["Leaf"]
    resolved = 0
    for function in leaf.body:
        assert isinstance(function, ast.FunctionDef)
        scope = Scope(project, module, function=function, parent=Scope(project, module), owner=leaf)
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute):
                value = scope.value(node)
                assert value is not None  # resolved to the base's method
                assert value.ref is not None
                resolved += 1
    assert resolved == 3 * READS
    # each (class, name) body is searched once: at most DEPTH + 1 classes per name, whereas
    # searching per read costs 3 * READS * (DEPTH + 1 - depth of the helper) searches
    assert project.members.method_lookups <= NAMES * (DEPTH + 1)
