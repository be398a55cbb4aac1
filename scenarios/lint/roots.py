"""What stays silent by default: the places whose job is to open the session of a unit of work.

A path's role comes from the configuration (tests, migrations, entry points: see `config`); a
function's role from what it is: the request dependency (any function used in `Depends()`,
`Security()` or `Provide()`), middleware that sets the request's session, an event handler
(`@event.listens_for`, `event.listen(...)`), an entry point (`main`, a `lifespan`, a
`@*.command`, a `@*.task` / `@shared_task` / `@*.actor` worker, `@*.on_event`), a unit of work's
`__enter__` / `__aenter__`, and code under `if __name__ == "__main__":`.
"""

from __future__ import annotations

import ast

from scenarios.lint.project import Project
from scenarios.lint.scope import Scope
from scenarios.lint.source import Function, Module
from scenarios.lint.syntax import OPENED_AT, chain
from scenarios.lint.values import What

DEPENDENCY_MARKERS = frozenset({"Depends", "Security", "Provide"})
ENTRY_NAMES = frozenset({"main", "lifespan", "run", "cli", "startup", "shutdown"})
ENTRY_DECORATORS = (
    "task",
    "shared_task",
    "actor",
    "command",
    "group",
    "on_event",
    "on_startup",
    "on_shutdown",
    "job",
    "scheduled_job",
    "cron",
    "periodic_task",
    "callback",
    "lifespan",
    "listener",
    "consumer",
    "subscriber",
    "handler",
)
UNIT_OF_WORK_METHODS = frozenset({"__enter__", "__aenter__"})


def mentions(module: Module, *words: str) -> bool:
    """A cheap look at the text before a walk of the tree."""
    return any(word in line for line in module.lines for word in words)


# A project function -> how it is used: (marker, FastAPI scope), e.g. ("Depends", "function").
DependencyUses = dict[tuple[str, str], set[tuple[str, str | None]]]


def dependencies_used(project: Project, modules: list[Module]) -> DependencyUses:
    """Every project function named in `Depends(f)` / `Security(f)` / `Provide(f)`, with the
    marker and the `scope=` of each use."""
    found: DependencyUses = {}
    for module in modules:
        if not mentions(module, *DEPENDENCY_MARKERS):
            continue
        scope = Scope(project, module)
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            head = chain(node.func)
            if not head or head[-1] not in DEPENDENCY_MARKERS:
                continue
            value = scope.value(node.args[0])
            if value is not None and value.ref is not None:
                found.setdefault(value.ref, set()).add((head[-1], _scope_of(node)))
    return found


def _scope_of(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "scope" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


def event_listeners(module: Module) -> set[str]:
    """Names passed to `event.listen(target, "name", function)` in this module."""
    found: set[str] = set()
    if not mentions(module, "listen("):
        return found
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and len(node.args) >= 3:
            head = chain(node.func)
            if head and head[-1] == "listen" and isinstance(node.args[2], ast.Name):
                found.add(node.args[2].id)
    return found


def _decorator_names(function: Function) -> list[str]:
    names: list[str] = []
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        head = chain(target)
        if head:
            names.append(head[-1])
    return names


def function_role(
    function: Function,
    owner: ast.ClassDef | None,
    module: Module,
    dependencies: DependencyUses,
    listeners: set[str],
) -> str | None:
    """Why sessions opened in this function are its own unit's, or None."""
    qualified = f"{owner.name}.{function.name}" if owner else function.name
    if (module.name, qualified) in dependencies:
        return "a request dependency (used in Depends())"
    decorators = _decorator_names(function)
    if "listens_for" in decorators or function.name in listeners:
        return "an event handler"
    if (
        "middleware" in decorators
        or "middleware" in function.name.lower()
        or (
            owner is not None
            and function.name in ("dispatch", "__call__")
            and "Middleware" in owner.name
        )
    ):
        return "middleware"
    if function.name in ENTRY_NAMES or any(d.endswith(ENTRY_DECORATORS) for d in decorators):
        return "an entry point"
    if function.name in UNIT_OF_WORK_METHODS:
        return "a unit of work opening its session"
    return None


def sets_request_state(call: ast.Call, function: Function) -> bool:
    """Middleware that puts the session it opens on the request or its context
    (`request.state.db = ...`, `context["db_session"] = db`)."""
    bound: set[str] = set()
    for node in ast.walk(function):
        if (
            isinstance(node, ast.withitem)
            and any(s is call for s in ast.walk(node.context_expr))
            and isinstance(node.optional_vars, ast.Name)
        ):
            bound.add(node.optional_vars.id)
        if isinstance(node, ast.Assign) and any(s is call for s in ast.walk(node.value)):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        value = node.value
        gives = any(s is call for s in ast.walk(value)) or (
            isinstance(value, ast.Name) and value.id in bound
        )
        if not gives:
            continue
        for target in node.targets:
            if isinstance(target, ast.Subscript | ast.Attribute):
                names = chain(target.value if isinstance(target, ast.Subscript) else target)
                if names and names[0] not in ("self", "cls"):
                    return True
    return False


def in_main_block(module: Module, line: int | None) -> bool:
    """Whether `line` (any line, when None) is under `if __name__ == "__main__":`."""
    for node in module.tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
            and (line is None or node.lineno <= line <= (node.end_lineno or node.lineno))
        ):
            return True
    return False


def session_in_hand(scope: Scope) -> str | None:
    """Why code in this function already has a session: a parameter annotated as one (or
    resolved by `Depends` to one), `self.x` holding one, an injected object holding one."""
    current: Scope | None = scope
    while current is not None and current.function is not None:
        for name, bindings in current.local_names().items():
            if not any(isinstance(b, ast.arg) for b in bindings):
                continue
            value = current.lookup(name)
            if value is None:
                continue
            if value.what is What.SESSION:
                return f"it already has one in hand ({value.origin})"
            if value.what is What.INSTANCE and value.ref is not None:
                held = _held_session(scope.project, value.ref)
                if held is not None:
                    return f"it already has one in hand through `{name}` ({held})"
        if current.owner is not None:
            held = _held_session(scope.project, (current.module.name, current.owner.name))
            if held is not None:
                return f"it already has one in hand ({held})"
        current = current.parent
    return None


def _held_session(project: Project, ref: tuple[str, str], depth: int = 0) -> str | None:
    """A session an instance of this class holds: an attribute given one, or an attribute
    holding an object (a repository) that was given one; one step, never further down a chain
    (`self.store._settings.db` is an app-wide object's, not this unit's)."""
    module = project.module(ref[0])
    if module is None or ref[1] not in module.classes or depth > 1:
        return None
    attributes = project.members.class_attributes(module, module.classes[ref[1]])
    for value in attributes.values():
        if value.what is What.SESSION and OPENED_AT not in value.origin:
            return value.origin
    for name, value in attributes.items():
        if value.what is What.INSTANCE and value.ref is not None and value.ref != ref:
            held = _held_session(project, value.ref, depth + 1)
            if held is not None:
                return f"through `{name}`: {held}"
    return None
