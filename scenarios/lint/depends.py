"""FastAPI dependency trees, read statically: a route whose tree resolves two session-yielding
dependencies (two different ones, or one declared `use_cache=False` next to another use) opens
two sessions per request (SCN002).

FastAPI caches a dependency per request by default, so `get_db` used by the route and by a
sub-dependency is one session; `Depends(get_db, use_cache=False)` or a second helper
(`get_db` and `get_session`) is a second one.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from scenarios.lint.findings import LintFinding
from scenarios.lint.project import Project
from scenarios.lint.scope import Scope
from scenarios.lint.source import Function, Module
from scenarios.lint.syntax import chain, default_of, parameters
from scenarios.lint.values import What

ROUTE_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "api_route", "websocket"}
)
MARKERS = frozenset({"Depends", "Security"})
ROUTE_DECORATOR = re.compile(rf"\s*@[\w.]+\.({'|'.join(ROUTE_METHODS)})\(")


@dataclass(frozen=True)
class Dependency:
    expression: ast.expr
    use_cache: bool
    line: int
    scope: Scope


def _marker_calls(node: ast.expr) -> list[ast.Call]:
    if isinstance(node, ast.Call):
        head = chain(node.func)
        if head and head[-1] in MARKERS:
            return [node]
    return []


def _use_cache(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "use_cache" and isinstance(keyword.value, ast.Constant):
            return bool(keyword.value.value)
    return True


def _from_annotation(
    scope: Scope, node: ast.expr | None, depth: int = 0
) -> list[tuple[ast.Call, Scope]]:
    """`Annotated[T, Depends(f)]`, also through an alias (`SessionDep`, `type SessionDep`),
    with the scope its names resolve in."""
    if node is None or depth > 6:
        return []
    if isinstance(node, ast.Subscript):
        head = chain(node.value)
        if head and head[-1] == "Annotated" and isinstance(node.slice, ast.Tuple):
            calls = [c for e in node.slice.elts[1:] for c in _marker_calls(e)]
            return [(_with_default(c, node.slice.elts[0]), scope) for c in calls]
        return []
    if isinstance(node, ast.Name):
        defined = scope.project.definition(scope.module.name, node.id)
        if defined is not None:
            return _from_annotation(Scope(scope.project, defined[0]), defined[1], depth + 1)
    return []


def _with_default(call: ast.Call, annotated: ast.expr) -> ast.Call:
    """`Depends()` with no argument depends on the annotated class itself."""
    if call.args:
        return call
    filled = ast.Call(call.func, [annotated], call.keywords)
    return ast.copy_location(filled, call)


def dependencies(scope: Scope, function: Function) -> list[Dependency]:
    found: list[Dependency] = []
    for argument in parameters(function):
        calls: list[tuple[ast.Call, Scope]] = []
        default = default_of(function, argument)
        if default is not None:
            calls += [(c, scope) for c in _marker_calls(default)]
        calls += _from_annotation(scope, argument.annotation)
        for call, where in calls:
            if call.args:
                found.append(Dependency(call.args[0], _use_cache(call), argument.lineno, where))
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "dependencies" and isinstance(keyword.value, ast.List):
                    for element in keyword.value.elts:
                        for call in _marker_calls(element):
                            if call.args:
                                found.append(
                                    Dependency(call.args[0], _use_cache(call), call.lineno, scope)
                                )
    return found


def is_route(function: Function) -> bool:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call):
            head = chain(decorator.func)
            if not (head and len(head) >= 2 and head[-1] in ROUTE_METHODS):
                continue
            path = decorator.args[0] if decorator.args else None
            if isinstance(path, ast.JoinedStr) or (
                isinstance(path, ast.Constant) and isinstance(path.value, str)
            ):
                return True
            if path is None and any(k.arg == "path" for k in decorator.keywords):
                return True
    return False


class Tree:
    """The sessions one route's dependency tree opens, with the cache FastAPI keeps."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.cached: set[tuple[str, str]] = set()
        self.sessions: list[tuple[str, int]] = []  # (which helper, route line it came through)
        self.depth = 0

    def walk(self, scope: Scope, function: Function, line: int | None) -> None:
        self.depth += 1
        if self.depth > 20:
            return
        for dependency in dependencies(scope, function):
            value = dependency.scope.value(dependency.expression)
            if value is None or value.ref is None:
                continue
            if dependency.use_cache:
                if value.ref in self.cached:
                    continue
                self.cached.add(value.ref)
            through = line if line is not None else dependency.line
            if value.what is What.OPENER:
                self.sessions.append((value.ref[1], through))
            located = self._function_of(value.ref, value.what)
            if located is not None:
                module, inner, owner = located
                inner_scope = Scope(
                    self.project, module, function=inner, parent=Scope(self.project, module)
                )
                inner_scope.owner = owner
                self.walk(inner_scope, inner, through)
        self.depth -= 1

    def _function_of(
        self, ref: tuple[str, str], what: What
    ) -> tuple[Module, Function, ast.ClassDef | None] | None:
        if what is What.CLASS:
            module = self.project.module(ref[0])
            if module is None or ref[1] not in module.classes:
                return None
            located = self.project.members.method(module, module.classes[ref[1]], "__init__")
            return located
        try:
            return self.project.function_at(ref)
        except KeyError:
            return None


def route_findings(project: Project, module: Module) -> list[LintFinding]:
    findings: list[LintFinding] = []
    if not any(ROUTE_DECORATOR.match(line) for line in module.lines):
        return findings
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not is_route(node):
            continue
        tree = Tree(project)
        scope = Scope(project, module, function=node, parent=Scope(project, module))
        tree.walk(scope, node, None)
        if len(tree.sessions) < 2:
            continue
        sessions = sorted(tree.sessions, key=lambda session: session[1])
        names = ", ".join(f"{name}() (line {line})" for name, line in sessions)
        second_line = sessions[1][1]  # where the second session enters, in source order
        findings.append(
            LintFinding(
                module.path,
                second_line,
                "SCN002",
                f"route {node.name}() opens {len(sessions)} sessions per request through "
                f"its dependencies: {names}; FastAPI caches a dependency per request only "
                "when it is the same function with use_cache left on",
                end_line=second_line,
            )
        )
    return findings
