"""What the static check reads in syntax alone: SQLAlchemy's and SQLModel's names, attribute
chains, a function's own nodes and parameters. No resolution across modules here (`project`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from scenarios.lint.source import Function
from scenarios.lint.values import Value, What

MAKER_TYPES = frozenset({"sessionmaker", "async_sessionmaker"})
REGISTRY_TYPES = frozenset({"scoped_session", "async_scoped_session"})
SESSION_TYPES = frozenset({"Session", "AsyncSession"})
LIBRARIES = ("sqlalchemy", "sqlmodel")
TYPING_WRAPPERS = frozenset({"Annotated", "Optional", "Final", "ClassVar", "Required"})
OPENED = frozenset({What.MAKER, What.SESSION_TYPE, What.OPENER})
ATTRIBUTE_ASSIGNMENT = re.compile(r"\w\.\w+\.\w+\s*(:[^=]*)?=[^=]")
# The one name-based guess: an unannotated parameter named as a session factory is one.
MAKER_PARAMETER = re.compile(r"(?:\w+_)?(?:session_?factory|session_?maker|sessionmaker)", re.I)
OPENED_AT = "opened at"  # in the origin of a session the code opened itself
KEYED_TO_TASK = "keyed to the task"  # in the origin of a registry whose scope is the task
# What a scoped_session proxies to the current session: using one is using that session.
SESSION_METHODS = frozenset(
    {
        "add",
        "add_all",
        "delete",
        "execute",
        "flush",
        "commit",
        "get",
        "get_one",
        "merge",
        "refresh",
        "scalar",
        "scalars",
        "stream",
        "stream_scalars",
        "query",
        "begin",
        "begin_nested",
        "run_sync",
    }
)


def library_value(module: str, attr: str) -> Value | None:
    """What a name imported from SQLAlchemy or SQLModel is."""
    if not any(module == lib or module.startswith(f"{lib}.") for lib in LIBRARIES):
        return None
    if attr in MAKER_TYPES:
        return Value(What.MAKER_TYPE, attr)
    if attr in REGISTRY_TYPES:
        return Value(What.REGISTRY_TYPE, attr)
    if attr in SESSION_TYPES:
        return Value(What.SESSION_TYPE, attr)
    if attr in ("orm", "ext", "asyncio", "session"):
        return Value(What.MODULE, f"{module}.{attr}")
    return None


def keyed_to_task(call: ast.Call) -> bool:
    """`async_scoped_session(maker, scopefunc=asyncio.current_task)` (also positional, or inside
    a lambda or a conditional): a registry that gives every task a session of its own."""
    scopefuncs = [k.value for k in call.keywords if k.arg == "scopefunc"] + call.args[1:2]
    return any(
        (isinstance(node, ast.Name) and node.id == "current_task")
        or (isinstance(node, ast.Attribute) and node.attr == "current_task")
        for scopefunc in scopefuncs
        for node in ast.walk(scopefunc)
    )


def chain(node: ast.expr) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return (node.id, *parts)
    return None


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not of the functions or classes nested in it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def parameters(function: Function | ast.Lambda) -> list[ast.arg]:
    arguments = function.args
    return [
        *arguments.posonlyargs,
        *arguments.args,
        *arguments.kwonlyargs,
        *([arguments.vararg] if arguments.vararg else []),
        *([arguments.kwarg] if arguments.kwarg else []),
    ]


def default_of(function: Function | ast.Lambda, argument: ast.arg) -> ast.expr | None:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    if argument in positional:
        index = positional.index(argument) - (len(positional) - len(arguments.defaults))
        return arguments.defaults[index] if index >= 0 else None
    if argument in arguments.kwonlyargs:
        return arguments.kw_defaults[arguments.kwonlyargs.index(argument)]
    return None


def attribute_assignments(
    tree: ast.AST,
) -> Iterator[tuple[Function | None, ast.Assign | ast.AnnAssign]]:
    """`a.b.c = value` statements (three names or more), with the function they are in."""
    stack: list[tuple[ast.AST, Function | None]] = [(tree, None)]
    while stack:
        node, function = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Assign | ast.AnnAssign):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                if any(
                    isinstance(t, ast.Attribute) and isinstance(t.value, ast.Attribute)
                    for t in targets
                ):
                    yield function, child
            elif not isinstance(child, ast.expr):
                inner = (
                    child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
                )
                stack.append((child, inner))
