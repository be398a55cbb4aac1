"""Finding makers, sessions and the helpers that open them, across a project's modules.

A session maker is recognised by what it is, never by its name: the result of
`sessionmaker(...)` / `async_sessionmaker(...)`, followed through imports (also inside a
function), aliases, re-exports, module attributes, tuples unpacked, functions that return one,
`self.x` set from one or from a parameter annotated as one, and parameters, variables and fields
annotated as one (`async_sessionmaker[AsyncSession]`, `Callable[[], Session]`, `Annotated`,
string annotations, `type` aliases). A session in hand is a parameter or attribute annotated as
a `Session` / `AsyncSession` (SQLAlchemy's or SQLModel's, or a subclass). A helper that opens a
session and hands it out (`get_session()`, a `@contextmanager` that yields one,
`Database.session()`) is followed through the call graph like a maker; a decorator whose wrapper
opens one (`@provide_session`) marks the functions it wraps.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from scenarios.lint.hierarchy import descendants, is_abstract, own_method, subclass_index
from scenarios.lint.source import (
    Function,
    Module,
    SourceError,
    import_bindings,
    module_name,
    read_module,
)
from scenarios.lint.syntax import (
    ATTRIBUTE_ASSIGNMENT,
    KEYED_TO_TASK,
    MAKER_PARAMETER,
    OPENED,
    OPENED_AT,
    TYPING_WRAPPERS,
    attribute_assignments,
    chain,
    default_of,
    keyed_to_task,
    library_value,
    own_nodes,
    parameters,
)
from scenarios.lint.values import Value, What

__all__ = ["OPENED_AT", "Project", "Scope", "chain", "default_of", "own_nodes", "parameters"]


class Project:
    """Every module the checked files reach through imports, parsed on demand."""

    def __init__(self) -> None:
        self.roots: list[Path] = []
        self.checked: list[str] = []  # the modules of the checked files, by dotted name
        self.registries_handed_out: dict[str, bool] = {}  # registry site -> (`registries`)
        self.modules: dict[str, Module | None] = {}
        self._symbols: dict[tuple[str, str], Value | None] = {}
        self._class_attrs: dict[tuple[str, str], dict[str, Value]] = {}
        self._one_attr: dict[tuple[str, str], Value | None] = {}
        self._assigners: dict[tuple[str, str], dict[str, list[Function]]] = {}
        self._functions: dict[tuple[str, str], Value | None] = {}
        self._attribute_paths: dict[tuple[str, ...], Value] | None = None
        self._files: dict[Path, dict[str, Path]] = {}  # root -> dotted name -> file
        self.locals: dict[int, dict[str, list[ast.AST]]] = {}  # id(function) -> its names
        self.handed: dict[int, tuple[What, str] | None] = {}  # id(function) -> hands_out()
        self.unpacking: set[tuple[str, str, int]] = set()  # (module, function, index) in flight
        self._subclasses: dict[int, list[tuple[Module, ast.ClassDef]]] | None = None
        # (id(class), name) -> `method()`: a class is looked up once per name, not once per
        # `self.x` read (deep hierarchies made this the bulk of the time on large trees)
        self._methods: dict[tuple[int, str], tuple[Module, Function, ast.ClassDef] | None] = {}
        self.tuple_returns: dict[int, list[ast.Tuple]] = {}  # id(function) -> `return a, b`
        self.method_lookups = 0  # class bodies searched by `method()`, for the tests

    def add(self, path: Path) -> Module:
        """Parse a checked file (SourceError when it cannot be)."""
        name, root = module_name(path)
        if root not in self.roots:
            self.roots.append(root)
        module = read_module(name, path)
        self.modules[name] = module
        self.checked.append(name)
        return module

    def module(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        self.modules[name] = None  # also guards against import cycles
        for root in self.roots:
            candidate = self._files_under(root).get(name)
            if candidate is not None:
                try:
                    self.modules[name] = read_module(name, candidate)
                except SourceError:
                    return None
                return self.modules[name]
        for root in self.roots:  # `keep.api.x` where `keep/` has no __init__.py (namespace)
            if name.startswith(f"{root.name}.") and name != f"{root.name}.":
                self.modules[name] = self.module(name[len(root.name) + 1 :])
                if self.modules[name] is not None:
                    return self.modules[name]
        return None

    def _files_under(self, root: Path) -> dict[str, Path]:
        """Every importable module under `root`, by dotted name (one walk per root)."""
        if root in self._files:
            return self._files[root]
        found: dict[str, Path] = {}
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            relative = os.path.relpath(folder, root)
            prefix = "" if relative == "." else relative.replace(os.sep, ".") + "."
            if prefix and "__init__.py" not in files:
                dirs[:] = []  # not a package: nothing below it imports as prefix.name
                continue
            for file in files:
                if file.endswith(".py"):
                    stem = file[:-3]
                    name = prefix[:-1] if stem == "__init__" else prefix + stem
                    if name:
                        found[name] = Path(folder, file)
        self._files[root] = found
        return found

    # -- what a module-level name is ---------------------------------------------------------

    def symbol(self, module_name: str, name: str) -> Value | None:
        key = (module_name, name)
        if key in self._symbols:
            return self._symbols[key]
        self._symbols[key] = None  # cycle guard
        value = self._resolve_symbol(module_name, name)
        self._symbols[key] = value
        return value

    def _resolve_symbol(self, module_name: str, name: str) -> Value | None:
        found = library_value(module_name, name)
        if found is not None:
            return found
        module = self.module(module_name)
        if module is None:
            if self.module(f"{module_name}.{name}") is not None:
                return Value(What.MODULE, f"{module_name}.{name}")
            return None
        if name in module.imports:
            source, attr = module.imports[name]
            if attr is None:
                return Value(What.MODULE, source)
            return self.symbol(source, attr) or (
                Value(What.MODULE, f"{source}.{attr}")
                if self.module(f"{source}.{attr}") is not None
                else None
            )
        if name in module.functions:
            return self.function_value(module, module.functions[name], None)
        if name in module.classes:
            return self._class_value(module, module.classes[name])
        scope = Scope(self, module)
        for annotation in module.annotated.get(name, ()):
            typed = scope.annotation(annotation)
            if typed is not None and typed.what is What.REGISTRY:
                for expression in module.assigned.get(name, ()):
                    value = scope.value(expression)  # its scopefunc is in the call
                    if value is not None and value.what is What.TASK_REGISTRY:
                        return value
            if typed is not None and typed.what in (What.MAKER, What.REGISTRY):
                return Value(typed.what, f"`{name}: {typed.origin}`, {module.where(annotation)}")
        for expression in module.assigned.get(name, ()):
            value = scope.value(expression)
            if value is not None and value.what is not What.MODULE:
                return value
        if self.module(f"{module_name}.{name}") is not None:
            return Value(What.MODULE, f"{module_name}.{name}")
        return None

    def _class_value(self, module: Module, node: ast.ClassDef) -> Value:
        scope = Scope(self, module)
        for base in node.bases:
            value = scope.value(base)
            if value is not None and value.what is What.SESSION_TYPE:
                return Value(What.SESSION_TYPE, f"{node.name}, a {value.origin} subclass")
        return Value(What.CLASS, node.name, (module.name, node.name))

    def definition(self, module_name: str, name: str) -> tuple[Module, ast.expr] | None:
        """The expression a module-level name (or a `type` alias) is assigned, through imports."""
        module = self.module(module_name)
        if module is None:
            return None
        if name in module.imports:
            source, attr = module.imports[name]
            return self.definition(source, attr) if attr is not None else None
        assigned = module.assigned.get(name)
        return (module, assigned[-1]) if assigned else None

    # -- functions: what calling one gives -----------------------------------------------------

    def function_value(
        self, module: Module, function: Function, owner: ast.ClassDef | None
    ) -> Value:
        """A function as a value: a maker factory, a helper that opens a session, a session
        decorator, a function wrapped by one, or a plain function."""
        qualified = f"{owner.name}.{function.name}" if owner else function.name
        key = (module.name, qualified)
        if key in self._functions:
            return self._functions[key] or Value(What.FUNCTION, qualified, key)
        self._functions[key] = None  # cycle guard: a recursive helper is a plain function here
        value = self._summarise(module, function, owner, key)
        self._functions[key] = value
        return value

    def _summarise(
        self, module: Module, function: Function, owner: ast.ClassDef | None, key: tuple[str, str]
    ) -> Value:
        outer = Scope(self, module)
        where = module.where(function)
        for decorator in function.decorator_list:
            found = outer.value(decorator)
            if found is not None and found.what is What.DECORATOR:
                return Value(What.INJECTED, f"{function.name}() is wrapped by {found.origin}", key)
        returns = outer.annotation(function.returns) if function.returns is not None else None
        if returns is not None and returns.what is What.MAKER:
            origin = f"{function.name}() is annotated to return {returns.origin}, {where}"
            return Value(What.MAKER_FACTORY, origin, key)
        if owner is not None and is_abstract(function):
            for impl_module, impl, impl_owner in self.overrides(module, owner, function.name):
                found = self.function_value(impl_module, impl, impl_owner)
                if found.what in (What.OPENER, What.MAKER_FACTORY):
                    how = f"{function.name}() is implemented by {impl_owner.name}, which"
                    return Value(found.what, f"{how} {found.origin}", key)
        scope = Scope(self, module, function=function, parent=outer, owner=owner)
        handed = scope.hands_out()
        if handed is not None:
            what, how = handed
            if what is What.MAKER:
                return Value(What.MAKER_FACTORY, f"{function.name}() returns {how}", key)
            return Value(What.OPENER, f"{function.name}() hands out a session it opens: {how}", key)
        if self._wraps_an_opener(module, function, owner):
            return Value(What.DECORATOR, f"@{function.name}, {where}", key)
        return Value(What.FUNCTION, function.name, key)

    def _wraps_an_opener(
        self, module: Module, function: Function, owner: ast.ClassDef | None
    ) -> bool:
        """A decorator (`provide_session`): it returns a function nested in it whose body opens
        a session."""
        nested = {
            n.name: n
            for n in function.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if not nested:
            return False
        returned = {
            n.value.id
            for n in function.body
            if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)
        }
        outer = Scope(self, module, function=function, parent=Scope(self, module), owner=owner)
        for name in returned & set(nested):
            inner = Scope(self, module, function=nested[name], parent=outer)
            if any(inner.opening(n) for n in own_nodes(nested[name]) if isinstance(n, ast.Call)):
                return True
        return False

    def overrides(
        self, module: Module, owner: ast.ClassDef, name: str
    ) -> list[tuple[Module, Function, ast.ClassDef]]:
        """The methods `name` of the checked subclasses of `owner` that define their own."""
        if self._subclasses is None:
            checked = [m for m in (self.modules.get(n) for n in self.checked) if m is not None]
            self._subclasses = subclass_index(
                checked, lambda m, base: Scope(self, m).class_of(base)
            )
        found: list[tuple[Module, Function, ast.ClassDef]] = []
        for sub_module, sub in descendants(self._subclasses, owner):
            method = own_method(sub, name)
            if method is not None:
                found.append((sub_module, method, sub))
        return found

    def returned_instance(self, ref: tuple[str, str]) -> Value | None:
        """What a project function's return annotation says it gives, when that is an
        instance of a project class (`def provide_db() -> Database`)."""
        try:
            module, function, _ = self.function_at(ref)
        except (KeyError, AssertionError):
            return None
        typed = Scope(self, module).annotation(function.returns)
        if typed is None or typed.what is not What.INSTANCE:
            return None
        return Value(What.INSTANCE, f"what {function.name}() returns", typed.ref)

    def function_at(self, ref: tuple[str, str]) -> tuple[Module, Function, ast.ClassDef | None]:
        module = self.module(ref[0])
        assert module is not None
        owner_name, _, name = ref[1].rpartition(".")
        if not owner_name:
            return module, module.functions[name], None
        owner = module.classes[owner_name]
        for statement in owner.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and (
                statement.name == name
            ):
                return module, statement, owner
        raise KeyError(ref)

    # -- members of classes (self._session_maker, self.db, Database.session()) ---------------

    def member(self, module: Module, node: ast.ClassDef, name: str) -> Value | None:
        attribute = self.class_attribute(module, node, name)
        if attribute is not None:
            return attribute
        method = self.method(module, node, name)
        return self.function_value(*method) if method is not None else None

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
        scope = Scope(self, module)
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
        scope = Scope(self, module)
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
        scope = Scope(self, module)
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
        scope = Scope(self, module, function=method, parent=Scope(self, module), owner=owner)
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

    def attribute_paths(self) -> dict[tuple[str, ...], Value]:
        """`app.state.session_maker = maker` anywhere: the attribute path (`state`,
        `session_maker`) then names a session maker on any object."""
        if self._attribute_paths is not None:
            return self._attribute_paths
        self._attribute_paths = {}
        for module in [m for m in self.modules.values() if m is not None]:
            if not any(ATTRIBUTE_ASSIGNMENT.search(line) for line in module.lines):
                continue
            for function, node in attribute_assignments(module.tree):
                if node.value is None or not isinstance(node.value, ast.Name | ast.Call):
                    continue
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    names = chain(target)
                    if names is None or len(names) < 3 or names[0] in ("self", "cls"):
                        continue
                    scope = Scope(self, module, function=function, parent=Scope(self, module))
                    value = scope.value(node.value)
                    if value is not None and value.what is What.MAKER:
                        self._attribute_paths[names[-2:]] = Value(
                            What.MAKER,
                            f"{'.'.join(names)} is set at {module.where(node)} from {value.origin}",
                        )
        return self._attribute_paths


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
            return self.project.member(self.module, owner, node.attr)
        container = self.value(base)
        if container is not None and container.what is What.MODULE:
            return self.project.symbol(container.origin, node.attr)
        if container is not None and container.what in (What.INSTANCE, What.CLASS):
            assert container.ref is not None
            module = self.project.module(container.ref[0])
            if module is not None and container.ref[1] in module.classes:
                return self.project.member(module, module.classes[container.ref[1]], node.attr)
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
