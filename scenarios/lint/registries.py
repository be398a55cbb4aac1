"""Registries keyed to the task: `async_scoped_session(maker, scopefunc=asyncio.current_task)`.

Calling one (or using it as a session: `registry.add(x)`) gives the current task's session.
Code that already has a session in hand and takes one from such a registry holds two, unless
the one in hand is that registry's own (a request dependency that hands out `registry()`, in
the same task); and every task `asyncio.gather` or `create_task` starts gets one more, which
nobody commits or removes. A thread-keyed `scoped_session` (Flask-SQLAlchemy's `db.session`)
is one session per request by design and is not followed here.
"""

from __future__ import annotations

import ast
import re

from scenarios.lint.project import Project
from scenarios.lint.scope import Scope
from scenarios.lint.source import Function, Module, display, top_level_functions
from scenarios.lint.syntax import KEYED_TO_TASK, SESSION_METHODS, own_nodes
from scenarios.lint.values import Value, What

SITE = re.compile(rf"{KEYED_TO_TASK} at (?P<site>.+?:\d+)")


def task_registry_use(scope: Scope, node: ast.Call) -> tuple[Value, str] | None:
    """The task-keyed registry this call takes a session from (`registry()`) or uses as one
    (`registry.add(x)`), with the words for the message."""
    callee = scope.value(node.func)
    if callee is not None and callee.what is What.TASK_REGISTRY:
        return callee, f"takes a session from {ast.unparse(node.func)}()"
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in SESSION_METHODS:
        base = scope.value(func.value)
        if base is not None and base.what is What.TASK_REGISTRY:
            return base, f"uses {ast.unparse(func.value)} as a session ({func.attr}())"
    return None


def site(registry: Value) -> str:
    """Where the registry is built (`path:line`): two values with one site are one registry."""
    found = SITE.search(registry.origin)
    return found["site"] if found else registry.origin


def handed_out(project: Project, registry: Value) -> bool:
    """Whether some function hands out this registry's session (`yield registry()`, `async with
    registry() as s: yield s`, `return registry`): then it is the request's session, and a
    session in hand may well be that very one. Read in the checked modules and the registry's."""
    where = site(registry)
    if where in project.registries_handed_out:
        return project.registries_handed_out[where]
    project.registries_handed_out[where] = False  # cycle guard
    path = where.rpartition(":")[0]
    modules = [project.modules.get(name) for name in project.checked]
    modules += [m for m in project.modules.values() if m is not None and display(m.path) == path]
    found = any(
        _hands_out(_scope(project, module, function, owner), function, where)
        for module in {id(m): m for m in modules if m is not None}.values()
        for function, owner in top_level_functions(module)
    )
    project.registries_handed_out[where] = found
    return found


def _scope(
    project: Project, module: Module, function: Function, owner: ast.ClassDef | None
) -> Scope:
    return Scope(project, module, function=function, parent=Scope(project, module), owner=owner)


def _hands_out(scope: Scope, function: Function, where: str) -> bool:
    nodes = list(own_nodes(function))
    if not any(isinstance(n, ast.Return | ast.Yield) and n.value is not None for n in nodes):
        return False

    def of_registry(expression: ast.expr) -> bool:
        expression = expression.value if isinstance(expression, ast.Await) else expression
        target = expression.func if isinstance(expression, ast.Call) else expression
        value = scope.value(target)
        return value is not None and value.what is What.TASK_REGISTRY and site(value) == where

    bound = {  # `s = registry()`, `async with registry() as s`
        target.id
        for n in nodes
        for target, value in _bindings(n)
        if isinstance(target, ast.Name) and of_registry(value)
    }
    for n in nodes:
        if isinstance(n, ast.Return | ast.Yield) and n.value is not None:
            value = n.value
            if of_registry(value) or (isinstance(value, ast.Name) and value.id in bound):
                return True
    return False


def _bindings(node: ast.AST) -> list[tuple[ast.expr, ast.expr]]:
    if isinstance(node, ast.Assign):
        return [(t, node.value) for t in node.targets]
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [(node.optional_vars, node.context_expr)]
    return []
