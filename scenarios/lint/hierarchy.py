"""Classes and their subclasses across the checked code, so that a call of an abstract or
overridden method (`db.session_context()` declared in `Database`, written in `SqliteDatabase`)
reaches the bodies that run. Syntax only: the base expressions are resolved by the caller's
`class_of`, so this module knows nothing of scopes."""

from __future__ import annotations

import ast
from collections.abc import Callable

from scenarios.lint.source import Function, Module

ClassRef = tuple[Module, ast.ClassDef]
ClassOf = Callable[[Module, ast.expr], ClassRef | None]
ABSTRACT_DECORATORS = frozenset({"abstractmethod", "abstractproperty"})


def subclass_index(modules: list[Module], class_of: ClassOf) -> dict[int, list[ClassRef]]:
    """id(base ClassDef) -> the module-level classes that name it as a base (direct
    subclasses)."""
    index: dict[int, list[ClassRef]] = {}
    for module in modules:
        for node in module.classes.values():
            for base in node.bases:
                located = class_of(module, base)
                if located is not None and located[1] is not node:
                    index.setdefault(id(located[1]), []).append((module, node))
    return index


def descendants(index: dict[int, list[ClassRef]], node: ast.ClassDef) -> list[ClassRef]:
    found: list[ClassRef] = []
    seen = {id(node)}
    stack = list(index.get(id(node), []))
    while stack:
        current = stack.pop()
        if id(current[1]) in seen:
            continue
        seen.add(id(current[1]))
        found.append(current)
        stack.extend(index.get(id(current[1]), []))
    return found


def own_method(node: ast.ClassDef, name: str) -> Function | None:
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and statement.name == name:
            return statement
    return None


def is_abstract(function: Function) -> bool:
    """`@abstractmethod`, or a body that does nothing (`...`, `pass`, a docstring, `raise
    NotImplementedError`): the implementations are elsewhere."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ABSTRACT_DECORATORS:
            return True
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if not body:
        return True
    if len(body) != 1:
        return False
    only = body[0]
    if isinstance(only, ast.Pass):
        return True
    if isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant):
        return only.value.value is Ellipsis
    if isinstance(only, ast.Raise) and only.exc is not None:
        raised = only.exc.func if isinstance(only.exc, ast.Call) else only.exc
        return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"
    return False
