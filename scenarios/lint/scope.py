"""The names visible at one place in a module (a function's parameters and locals, its
enclosing functions', the module's) and what each is: a session maker, a session in hand, a
helper that opens one, an instance of a project class."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from scenarios.lint.source import Function, Module, import_bindings
from scenarios.lint.syntax import (
    KEYED_TO_TASK,
    MAKER_PARAMETER,
    OPENED,
    OPENED_AT,
    TYPING_WRAPPERS,
    chain,
    default_of,
    keyed_to_task,
    own_nodes,
    parameters,
)
from scenarios.lint.values import Value, What

if TYPE_CHECKING:
    from scenarios.lint.project import Project


class Scope:
    """Names visible at one place: a function's parameters and locals, its enclosing
    functions', then the module's."""

    def __init__(
        self,
        project: Project,
        module: Module,
        *,
        function: Function | ast.Lambda | None = None,
        parent: Scope | None = None,
        owner: ast.ClassDef | None = None,
    ) -> None:
        self.project = project
        self.module = module
        self.function = function
        self.parent = parent
        self.owner = owner  # the class, when `function` is one of its methods
        self._locals: dict[str, list[ast.AST]] | None = None
        self._resolving: set[str] = set()

    # -- annotations ------------------------------------------------------------------------

    def annotation(self, node: ast.expr | None, depth: int = 0) -> Value | None:
        """What an annotation says a value is: a MAKER, SESSION, REGISTRY, or INSTANCE of a
        project class; None for anything else. `origin` is the annotation's text."""
        if node is None or depth > 8:
            return None
        what = self._annotated(node, depth)
        if what is None:
            return None
        return Value(what.what, ast.unparse(node), what.ref)

    def _annotated(self, node: ast.expr, depth: int) -> Value | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                parsed = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
            return self.annotation(parsed, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.annotation(node.left, depth + 1) or self.annotation(node.right, depth + 1)
        if isinstance(node, ast.Subscript):
            head = chain(node.value)
            name = head[-1] if head else ""
            arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if name in TYPING_WRAPPERS:
                return self.annotation(arguments[0], depth + 1) if arguments else None
            if name == "Union":
                for argument in arguments:
                    if (found := self.annotation(argument, depth + 1)) is not None:
                        return found
                return None
            if name == "Callable" and len(arguments) == 2:
                returned = self.annotation(arguments[1], depth + 1)
                if returned is not None and returned.what is What.SESSION:
                    return Value(What.MAKER, "")
                return None
            base = self._module_value(node.value)
            if base is not None and base.what in (What.MAKER_TYPE, What.REGISTRY_TYPE):
                return self._typed(base)
            return None
        base = self._module_value(node)
        if base is None and isinstance(node, ast.Name):
            defined = self.project.definition(self.module.name, node.id)
            if defined is not None:  # `SessionDep = Annotated[...]`, `type Maker = ...`
                expression = defined[1]
                if (
                    isinstance(expression, ast.Call)
                    and (chain(expression.func) or ("",))[-1] == "NewType"
                    and len(expression.args) == 2
                ):
                    expression = expression.args[1]  # NewType("ReadSession", AsyncSession)
                return Scope(self.project, defined[0]).annotation(expression, depth + 1)
        return self._typed(base) if base is not None else None

    @staticmethod
    def _typed(base: Value) -> Value | None:
        return {
            What.MAKER_TYPE: Value(What.MAKER, ""),
            What.REGISTRY_TYPE: Value(What.REGISTRY, ""),
            What.SESSION_TYPE: Value(What.SESSION, ""),
            What.CLASS: Value(What.INSTANCE, "", base.ref),
        }.get(base.what)

    def _module_value(self, node: ast.expr) -> Value | None:
        """Annotations name types, so they are looked up among the module's names only
        (and imports made inside the function)."""
        if isinstance(node, ast.Name) and self.function is not None:
            local = self._local_imports().get(node.id)
            if local is not None:
                return self._import_value(*local)
        return Scope(self.project, self.module).value(node)

    # -- values -----------------------------------------------------------------------------

    def value(self, node: ast.expr) -> Value | None:
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Await):
            return self.value(node.value)
        if isinstance(node, ast.Subscript):
            index = node.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, int):
                return self._item(node.value, index.value)
            base = self.value(node.value)
            if base is not None and base.what in (What.MAKER_TYPE, What.REGISTRY_TYPE):
                return base
            return None
        if isinstance(node, ast.IfExp):
            return self.value(node.body) or self.value(node.orelse)
        if isinstance(node, ast.BoolOp):
            for operand in node.values:
                if (found := self.value(operand)) is not None:
                    return found
            return None
        if isinstance(node, ast.NamedExpr):
            return self.value(node.value)
        return None

    def _item(self, node: ast.expr, index: int) -> Value | None:
        """`tuple_expression[index]`: a tuple literal, or the call of a project function that
        returns one (`engine, maker = build()`)."""
        if isinstance(node, ast.Tuple | ast.List):
            return self.value(node.elts[index]) if index < len(node.elts) else None
        if isinstance(node, ast.Await):
            return self._item(node.value, index)
        if not isinstance(node, ast.Call):
            return None
        callee = self.value(node.func)
        if callee is None or callee.ref is None or callee.what is What.CLASS:
            return None
        try:
            module, function, owner = self.project.function_at(callee.ref)
        except KeyError:
            return None
        key = (*callee.ref, index)
        if key in self.project.unpacking:
            return None  # a function that unpacks its own result
        self.project.unpacking.add(key)
        try:
            inner = Scope(
                self.project, module, function=function, parent=Scope(self.project, module)
            )
            inner.owner = owner
            returned = self.project.tuple_returns.get(id(function))
            if returned is None:
                returned = [
                    n.value
                    for n in own_nodes(function)
                    if isinstance(n, ast.Return) and isinstance(n.value, ast.Tuple)
                ]
                self.project.tuple_returns[id(function)] = returned
            for returned_tuple in returned:
                elements = returned_tuple.elts
                if index < len(elements):
                    found = inner.value(elements[index])
                    if found is not None:
                        return found
            return None
        finally:
            self.project.unpacking.discard(key)

    def _call(self, node: ast.Call) -> Value | None:
        callee = self.value(node.func)
        if callee is None:
            head = chain(node.func)
            name = head[-1] if head else ""
            if name == "partial" and node.args:
                inner = self.value(node.args[0])
                if inner is not None and inner.what is What.SESSION_TYPE:
                    origin = f"partial({inner.origin}, ...), {self.module.where(node)}"
                    return Value(What.MAKER, origin)
            if name in ("Depends", "Provide") and node.args:
                inner = self.value(node.args[0])
                if inner is not None and inner.what is What.MAKER_FACTORY:
                    return Value(What.MAKER, f"Depends({inner.origin})")
                if inner is not None and inner.what is What.OPENER:
                    return Value(What.SESSION, f"Depends({inner.origin})")
            return None
        if callee.what is What.MAKER_TYPE:
            return Value(What.MAKER, f"the {callee.origin}(...) at {self.module.where(node)}")
        if callee.what is What.REGISTRY_TYPE:
            where = self.module.where(node)
            if keyed_to_task(node):
                origin = f"the {callee.origin}(...) {KEYED_TO_TASK} at {where}"
                return Value(What.TASK_REGISTRY, origin)
            return Value(What.REGISTRY, f"the {callee.origin}(...) at {where}")
        if callee.what is What.MAKER_FACTORY:
            return Value(What.MAKER, f"the result of {callee.origin}")
        if callee.what in (What.REGISTRY, What.TASK_REGISTRY):
            return Value(What.SESSION, f"the current session of {callee.origin}")
        if callee.what is What.CLASS:
            return Value(What.INSTANCE, callee.origin, callee.ref)
        if callee.what is What.FUNCTION and callee.ref is not None:
            return self.project.returned_instance(callee.ref)  # `provide_db().x`
        if callee.what in (What.MAKER, What.SESSION_TYPE, What.OPENER):
            return callee  # the value the call gives is a session; see `opening`
        return None

    def _attribute(self, node: ast.Attribute) -> Value | None:
        base = node.value
        owner = self._self_owner(base.id) if isinstance(base, ast.Name) else None
        if owner is not None:
            return self.project.members.member(self.module, owner, node.attr)
        container = self.value(base)
        if container is not None and container.what is What.MODULE:
            return self.project.symbol(container.origin, node.attr)
        if container is not None and container.what in (What.INSTANCE, What.CLASS):
            assert container.ref is not None
            module = self.project.module(container.ref[0])
            if module is not None and container.ref[1] in module.classes:
                return self.project.members.member(
                    module, module.classes[container.ref[1]], node.attr
                )
            return None
        if container is not None and container.what is What.MAKER and node.attr == "begin":
            return container
        names = chain(node)
        if names is not None and len(names) >= 3 and container is None:
            return self.project.attribute_paths().get(names[-2:])
        return None

    def _self_owner(self, name: str) -> ast.ClassDef | None:
        """The class whose method binds `name` as its first parameter (`self`), seen from
        here or from a function nested in that method."""
        scope: Scope | None = self
        while scope is not None:
            function = scope.function
            if scope.owner is not None and isinstance(
                function, ast.FunctionDef | ast.AsyncFunctionDef
            ):
                arguments = function.args.posonlyargs + function.args.args
                return scope.owner if arguments and arguments[0].arg == name else None
            if function is not None and name in scope.local_names():
                return None
            scope = scope.parent
        return None

    def class_of(self, node: ast.expr) -> tuple[Module, ast.ClassDef] | None:
        """The project class a base-class expression names, wherever it is defined."""
        if isinstance(node, ast.Subscript):  # Generic[T], Base[Model]
            return self.class_of(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.module.classes:
                return self.module, self.module.classes[node.id]
            if node.id in self.module.imports:
                source, attr = self.module.imports[node.id]
                return self._class_in(source, attr) if attr else None
            return None
        if isinstance(node, ast.Attribute):
            container = self.value(node.value)
            if container is not None and container.what is What.MODULE:
                return self._class_in(container.origin, node.attr)
        return None

    def _class_in(
        self, module_name: str, name: str, depth: int = 0
    ) -> tuple[Module, ast.ClassDef] | None:
        module = self.project.module(module_name)
        if module is None or depth > 10:
            return None
        if name in module.classes:
            return module, module.classes[name]
        if name in module.imports:
            source, attr = module.imports[name]
            return self._class_in(source, attr, depth + 1) if attr else None
        return None

    # -- locals -----------------------------------------------------------------------------

    def _local_imports(self) -> dict[str, tuple[str, str | None]]:
        found: dict[str, tuple[str, str | None]] = {}
        for name, bindings in self.local_names().items():
            for binding in bindings:
                if isinstance(binding, ast.Import | ast.ImportFrom):
                    found.update(
                        (n, what) for n, what in import_bindings(self.module, binding) if n == name
                    )
        return found

    def local_names(self) -> dict[str, list[ast.AST]]:
        if self._locals is None:
            function = self.function
            cached = self.project.locals.get(id(function)) if function is not None else None
            if cached is not None:
                self._locals = cached
                return cached
            self._locals = {}
            if function is not None:
                for argument in parameters(function):
                    self._locals.setdefault(argument.arg, []).append(argument)
                for node in own_nodes(function):
                    self._bind(node)
                self.project.locals[id(function)] = self._locals
        return self._locals

    def _bind(self, node: ast.AST) -> None:
        assert self._locals is not None
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._locals.setdefault(target.id, []).append(node)
                elif isinstance(target, ast.Tuple | ast.List):
                    for index, element in enumerate(target.elts):
                        if isinstance(element, ast.Name):
                            item = ast.Subscript(node.value, ast.Constant(index), ast.Load())
                            bound = ast.Assign([element], item)
                            ast.copy_location(bound, node)
                            self._locals.setdefault(element.id, []).append(bound)
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and isinstance(node.target, ast.Name):
            self._locals.setdefault(node.target.id, []).append(node)
        elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            self._locals.setdefault(node.optional_vars.id, []).append(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for name, _ in import_bindings(self.module, node):
                self._locals.setdefault(name, []).append(node)

    def lookup(self, name: str) -> Value | None:
        if self.function is None:
            return self.project.symbol(self.module.name, name)
        bindings = self.local_names().get(name)
        if bindings is None:
            if self.parent is not None:
                return self.parent.lookup(name)
            return self.project.symbol(self.module.name, name)
        if name in self._resolving:
            return None
        self._resolving.add(name)
        try:
            for binding in bindings:
                found = self._binding_value(name, binding)
                if found is not None:
                    return found
            return None
        finally:
            self._resolving.discard(name)

    def _import_value(self, source: str, attr: str | None) -> Value | None:
        if attr is None:
            return Value(What.MODULE, source)
        return self.project.symbol(source, attr)

    def _binding_value(self, name: str, binding: ast.AST) -> Value | None:
        where = self.module.where(binding)
        if isinstance(binding, ast.arg):
            typed = self.annotation(binding.annotation)
            if typed is not None:
                return Value(typed.what, f"parameter `{name}: {typed.origin}`, {where}", typed.ref)
            assert self.function is not None
            default = default_of(self.function, binding)
            if default is not None:
                found = self.value(default)
                if found is not None and found.what in (What.MAKER, What.SESSION):
                    return Value(found.what, f"parameter `{name}` defaulting to {found.origin}")
            if MAKER_PARAMETER.fullmatch(name):
                return Value(What.MAKER, f"parameter `{name}` (a session factory), {where}")
            return None
        if isinstance(binding, ast.Import | ast.ImportFrom):
            for local, (source, attr) in import_bindings(self.module, binding):
                if local == name:
                    return self._import_value(source, attr)
            return None
        if isinstance(binding, ast.AnnAssign):
            typed = self.annotation(binding.annotation)
            if typed is not None:
                return Value(typed.what, f"`{name}: {typed.origin}`, {where}", typed.ref)
            return self._assigned(binding.value, where) if binding.value is not None else None
        if isinstance(binding, ast.Assign | ast.NamedExpr):
            return self._assigned(binding.value, where)
        if isinstance(binding, ast.withitem) and self.opening_expr(binding.context_expr):
            return Value(What.SESSION, f"`{name}`, {OPENED_AT} {where}")
        return None

    def _assigned(self, node: ast.expr, where: str) -> Value | None:
        """A local assigned from an expression: a session when the expression opens one."""
        if self.opening_expr(node):
            return Value(What.SESSION, f"{OPENED_AT} {where}")
        return self.value(node)

    # -- opening ------------------------------------------------------------------------------

    def opening(self, node: ast.Call) -> Value | None:
        """What a call opens a session with (a maker, a Session class, a helper, `.begin()` of a
        maker), or None when it opens none."""
        callee = self.value(node.func)
        if callee is not None and callee.what in OPENED:
            if isinstance(node.func, ast.Attribute) and node.func.attr == "begin":
                return callee if callee.what is What.MAKER else None
            return callee
        return None

    def opening_expr(self, node: ast.expr) -> bool:
        """Whether evaluating `node` opens a session (also through `await`, `enter_context`)."""
        if isinstance(node, ast.Await):
            return self.opening_expr(node.value)
        if not isinstance(node, ast.Call):
            return False
        if self.opening(node) is not None:
            return True
        head = chain(node.func)
        if head and head[-1] in ("enter_context", "enter_async_context") and node.args:
            return self.opening_expr(node.args[0])
        return False

    def hands_out(self) -> tuple[What, str] | None:
        """For a function scope: whether it returns or yields a session it opened (a helper,
        `get_db`) or a maker (a factory); with how, for the message."""
        function = self.function
        assert function is not None
        key = id(function)
        if key not in self.project.handed:
            self.project.handed[key] = None  # cycle guard
            self.project.handed[key] = self._hands_out(function)
        return self.project.handed[key]

    def _hands_out(self, function: Function | ast.Lambda) -> tuple[What, str] | None:
        for node in own_nodes(function):
            if isinstance(node, ast.Return | ast.Yield | ast.YieldFrom) and node.value is not None:
                value = node.value
                if self.opening_expr(value):
                    return What.OPENER, ast.unparse(value)
                if isinstance(value, ast.Name):
                    found = self.lookup(value.id)
                    if (
                        found is not None
                        and found.what is What.SESSION
                        and (OPENED_AT in found.origin)
                    ):
                        return What.OPENER, found.origin
                found = self.value(value)
                if found is not None and found.what is What.MAKER:
                    return What.MAKER, found.origin
        return None
