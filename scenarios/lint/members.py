"""The members of a project's classes, through their bases: the method a name finds
(`Database.session()`), an attribute's value (`self._session_maker`, a field annotated as a
maker), and the subclasses' overrides of an abstract method."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from scenarios.lint.hierarchy import descendants, own_method, subclass_index
from scenarios.lint.scope import Scope
from scenarios.lint.source import Function, Module
from scenarios.lint.syntax import OPENED, OPENED_AT, own_nodes
from scenarios.lint.values import Value, What

if TYPE_CHECKING:
    from scenarios.lint.project import Project


class ClassMembers:
    """The members of the project's classes, each class read once per name."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._class_attrs: dict[tuple[str, str], dict[str, Value]] = {}
        self._one_attr: dict[tuple[str, str], Value | None] = {}
        self._assigners: dict[tuple[str, str], dict[str, list[Function]]] = {}
        self._subclasses: dict[int, list[tuple[Module, ast.ClassDef]]] | None = None
        # (id(class), name) -> `method()`: a class is looked up once per name, not once per
        # `self.x` read (deep hierarchies made this the bulk of the time on large trees)
        self._methods: dict[tuple[int, str], tuple[Module, Function, ast.ClassDef] | None] = {}
        self.method_lookups = 0  # class bodies searched by `method()`, for the tests

    # -- members of classes (self._session_maker, self.db, Database.session()) ---------------

    def member(self, module: Module, node: ast.ClassDef, name: str) -> Value | None:
        attribute = self.class_attribute(module, node, name)
        if attribute is not None:
            return attribute
        method = self.method(module, node, name)
        return self.project.function_value(*method) if method is not None else None

    def method(
        self, module: Module, node: ast.ClassDef, name: str, seen: frozenset[str] = frozenset()
    ) -> tuple[Module, Function, ast.ClassDef] | None:
        if seen:
            return self._method(module, node, name, seen)
        key = (id(node), name)
        if key not in self._methods:
            self._methods[key] = self._method(module, node, name, seen)
        return self._methods[key]

    def _method(
        self, module: Module, node: ast.ClassDef, name: str, seen: frozenset[str]
    ) -> tuple[Module, Function, ast.ClassDef] | None:
        self.method_lookups += 1
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and (
                statement.name == name
            ):
                return module, statement, node
        scope = Scope(self.project, module)
        for base in node.bases:
            located = scope.class_of(base)
            if located is not None and located[1].name not in seen:
                found = self.method(*located, name, seen | {node.name})
                if found is not None:
                    return found
        return None

    def class_attribute(
        self, module: Module, node: ast.ClassDef, name: str, depth: int = 0
    ) -> Value | None:
        """One attribute of a class (`self.name`), read only where `name` is assigned."""
        key = (module.name, f"{node.name}.{name}")
        if key in self._one_attr:
            return self._one_attr[key]
        self._one_attr[key] = None  # cycle guard
        found: Value | None = None
        scope = Scope(self.project, module)
        for statement in node.body:
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.target.id == name
            ):
                found = self._field(module, scope, statement) or found
        for method in self._assigning_methods(module, node).get(name, ()):
            if found is None:
                found = self._assigned_in_method(module, node, method, only=name).get(name)
        if found is None and depth < 10:
            for base in node.bases:
                located = scope.class_of(base)
                if located is not None:
                    found = self.class_attribute(*located, name, depth + 1)
                    if found is not None:
                        break
        self._one_attr[key] = found
        return found

    def _assigning_methods(self, module: Module, node: ast.ClassDef) -> dict[str, list[Function]]:
        """attribute name -> the methods that assign `self.name` (read once per class)."""
        key = (module.name, node.name)
        if key in self._assigners:
            return self._assigners[key]
        found: dict[str, list[Function]] = {}
        for method in node.body:
            if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = method.args.posonlyargs + method.args.args
            if not arguments:
                continue
            me = arguments[0].arg
            for child in own_nodes(method):
                targets = (
                    child.targets
                    if isinstance(child, ast.Assign)
                    else [child.target]
                    if isinstance(child, ast.AnnAssign)
                    else []
                )
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == me
                    ):
                        methods = found.setdefault(target.attr, [])
                        if method not in methods:
                            methods.append(method)
        self._assigners[key] = found
        return found

    def _field(self, module: Module, scope: Scope, statement: ast.AnnAssign) -> Value | None:
        typed = scope.annotation(statement.annotation)
        if (
            typed is None
            or typed.what is What.INSTANCE
            or not isinstance(statement.target, ast.Name)
        ):
            return None
        name = statement.target.id
        where = module.where(statement)
        return Value(typed.what, f"field `{name}: {typed.origin}`, {where}", typed.ref)

    def class_attributes(self, module: Module, node: ast.ClassDef) -> dict[str, Value]:
        key = (module.name, node.name)
        if key in self._class_attrs:
            return self._class_attrs[key]
        self._class_attrs[key] = {}  # cycle guard
        found: dict[str, Value] = {}
        scope = Scope(self.project, module)
        for base in node.bases:
            located = scope.class_of(base)
            if located is not None:
                found.update(self.class_attributes(*located))
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                typed = scope.annotation(statement.annotation)
                if typed is not None and typed.what is not What.INSTANCE:
                    name = statement.target.id
                    where = module.where(statement)
                    found[name] = Value(
                        typed.what, f"field `{name}: {typed.origin}`, {where}", typed.ref
                    )
            elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                found.update(self._assigned_in_method(module, node, statement))
        self._class_attrs[key] = found
        return found

    def _assigned_in_method(
        self, module: Module, owner: ast.ClassDef, method: Function, only: str | None = None
    ) -> dict[str, Value]:
        arguments = method.args.posonlyargs + method.args.args
        if not arguments:
            return {}
        me = arguments[0].arg
        scope = Scope(
            self.project, module, function=method, parent=Scope(self.project, module), owner=owner
        )
        found: dict[str, Value] = {}
        for node in own_nodes(method):
            targets: list[ast.expr] = []
            value_node: ast.expr | None = None
            annotation: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value_node = node.targets, node.value
            elif isinstance(node, ast.AnnAssign):
                targets, value_node, annotation = [node.target], node.value, node.annotation
            for target in targets:
                if not (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == me
                    and (only is None or target.attr == only)
                ):
                    continue
                value = scope.annotation(annotation) if annotation is not None else None
                if value is not None and value.what is What.REGISTRY and value_node is not None:
                    assigned = scope.value(value_node)  # its scopefunc is in the call
                    if assigned is not None and assigned.what is What.TASK_REGISTRY:
                        value = assigned
                if value is None and value_node is not None:
                    value = scope.value(value_node)
                    if (
                        value is not None
                        and value.what in OPENED
                        and scope.opening_expr(value_node)
                    ):
                        value = Value(What.SESSION, f"{OPENED_AT} {module.where(node)}")
                if value is None or value.what not in (
                    What.MAKER,
                    What.SESSION,
                    What.REGISTRY,
                    What.TASK_REGISTRY,
                    What.INSTANCE,
                ):
                    continue
                where = module.where(node)
                found.setdefault(
                    target.attr,
                    Value(
                        value.what,
                        f"{me}.{target.attr} is set at {where} from {value.origin}",
                        value.ref,
                    ),
                )
        return found

    def overrides(
        self, module: Module, owner: ast.ClassDef, name: str
    ) -> list[tuple[Module, Function, ast.ClassDef]]:
        """The methods `name` of the checked subclasses of `owner` that define their own."""
        if self._subclasses is None:
            checked = [
                m
                for m in (self.project.modules.get(n) for n in self.project.checked)
                if m is not None
            ]
            self._subclasses = subclass_index(
                checked, lambda m, base: Scope(self.project, m).class_of(base)
            )
        found: list[tuple[Module, Function, ast.ClassDef]] = []
        for sub_module, sub in descendants(self._subclasses, owner):
            method = own_method(sub, name)
            if method is not None:
                found.append((sub_module, method, sub))
        return found
