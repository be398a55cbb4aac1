"""Functions that start a unit of work of their own, found by how they are called rather than
by their names: handed to `BackgroundTasks.add_task`, `Thread(target=...)` /
`Process(target=...)`, a scheduler's `add_job`, `asyncio.create_task` / `ensure_future` /
`run_in_executor`, or registered as startup code (`add_event_handler("startup", f)`,
`on_startup=[f]`). A session such a function opens is its unit's own (`SCN003` is silent);
a call to it is not a call made while the caller's session is in hand."""

from __future__ import annotations

import ast

from scenarios.lint.project import Project
from scenarios.lint.scope import Scope
from scenarios.lint.source import Module
from scenarios.lint.syntax import chain

FIRST_ARGUMENT = frozenset({"add_task", "add_job", "submit", "call_soon", "call_later"})
TARGET_KEYWORDS = frozenset({"target", "func", "on_startup", "on_shutdown"})
AWAITABLE_RUNNERS = frozenset({"create_task", "ensure_future", "run_coroutine_threadsafe"})
WORDS = (
    "add_task",
    "target=",
    "add_job",
    "create_task",
    "ensure_future",
    "run_in_executor",
    "add_event_handler",
    "on_startup",
    "submit(",
)


def unit_roots(project: Project, modules: list[Module]) -> set[tuple[str, str]]:
    """(module, qualified name) of every project function started as a unit of its own."""
    found: set[tuple[str, str]] = set()
    for module in modules:
        if not any(word in line for line in module.lines for word in WORDS):
            continue
        scope = Scope(project, module)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                for started in _started(node):
                    value = scope.value(started) if isinstance(started, ast.Name) else None
                    if value is not None and value.ref is not None:
                        found.add(value.ref)
                    elif isinstance(started, ast.Name):
                        found.add((module.name, started.id))
                    elif isinstance(started, ast.Attribute):
                        found.update(_methods_named(module, started.attr))
    return found


def _started(call: ast.Call) -> list[ast.expr]:
    head = chain(call.func)
    name = head[-1] if head else ""
    started: list[ast.expr] = []
    if name in FIRST_ARGUMENT and call.args:
        started.append(call.args[0])
    if name == "run_in_executor" and len(call.args) >= 2:
        started.append(call.args[1])
    if name == "add_event_handler" and len(call.args) >= 2:
        started.append(call.args[1])
    if name in AWAITABLE_RUNNERS and call.args and isinstance(call.args[0], ast.Call):
        started.append(call.args[0].func)
    for keyword in call.keywords:
        if keyword.arg in TARGET_KEYWORDS:
            value = keyword.value
            started += list(value.elts) if isinstance(value, ast.List | ast.Tuple) else [value]
    return [s for s in started if isinstance(s, ast.Name | ast.Attribute)]


def _methods_named(module: Module, name: str) -> set[tuple[str, str]]:
    """`self.sync` handed over: the method `sync` of the module's classes."""
    return {
        (module.name, f"{node.name}.{name}")
        for node in module.classes.values()
        if any(
            isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name
            for s in node.body
        )
    }
