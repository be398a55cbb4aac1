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

`Project` holds the modules and what their module-level names and functions are; a `Scope`
(`scope.py`) reads the names at one place in a function; `ClassMembers` (`members.py`) the
methods and attributes of classes.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from scenarios.lint.hierarchy import is_abstract
from scenarios.lint.members import ClassMembers
from scenarios.lint.scope import Scope
from scenarios.lint.source import (
    Function,
    Module,
    SourceError,
    module_name,
    read_module,
)
from scenarios.lint.syntax import (
    ATTRIBUTE_ASSIGNMENT,
    attribute_assignments,
    chain,
    library_value,
    own_nodes,
)
from scenarios.lint.values import Value, What


class Project:
    """Every module the checked files reach through imports, parsed on demand."""

    def __init__(self) -> None:
        self.roots: list[Path] = []
        self.checked: list[str] = []  # the modules of the checked files, by dotted name
        self.registries_handed_out: dict[str, bool] = {}  # registry site -> (`registries`)
        self.modules: dict[str, Module | None] = {}
        self._symbols: dict[tuple[str, str], Value | None] = {}
        self._functions: dict[tuple[str, str], Value | None] = {}
        self._attribute_paths: dict[tuple[str, ...], Value] | None = None
        self._files: dict[Path, dict[str, Path]] = {}  # root -> dotted name -> file
        self.locals: dict[int, dict[str, list[ast.AST]]] = {}  # id(function) -> its names
        self.handed: dict[int, tuple[What, str] | None] = {}  # id(function) -> hands_out()
        self.unpacking: set[tuple[str, str, int]] = set()  # (module, function, index) in flight
        self.tuple_returns: dict[int, list[ast.Tuple]] = {}  # id(function) -> `return a, b`
        self.members = ClassMembers(self)  # methods and attributes of the project's classes

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
            for impl_module, impl, impl_owner in self.members.overrides(
                module, owner, function.name
            ):
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
