"""The static check: where does code open a database session outside the composition root?

A session maker is recognised by what it is, never by its name: the result of
`sessionmaker(...)` / `async_sessionmaker(...)` (or `scoped_session(...)`), followed through
imports, aliases, re-exports, module attributes, functions that return one, `self.x` set from one
or from a parameter annotated as one (also in a base class in another module), and parameters,
variables and dataclass fields annotated as one (`async_sessionmaker[AsyncSession]`,
`Callable[[], Session]`, `Annotated[...]`, string annotations). Calling one, or its `.begin()`,
opens a session; so does `Session(...)` / `AsyncSession(...)` (or a subclass) built directly.
Annotations, imports and isinstance checks mention these names without calling them, so they
are never findings.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from scenarios.lint.config import LintConfig

MAKER_TYPES = frozenset(
    {"sessionmaker", "async_sessionmaker", "scoped_session", "async_scoped_session"}
)
SESSION_TYPES = frozenset({"Session", "AsyncSession"})
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


class What(Enum):
    MODULE = "module"
    MAKER_TYPE = "maker type"  # sessionmaker and friends: calling one creates a maker
    SESSION_TYPE = "session type"  # Session, AsyncSession, subclasses: calling one opens a session
    MAKER = "maker"  # a session maker: calling it opens a session
    MAKER_FACTORY = "maker factory"  # a function that returns a session maker


@dataclass(frozen=True)
class Value:
    what: What
    origin: str  # how we know, for the message; for MODULE, the module's name


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    reason: str

    def render(self, relative_to: Path | None = None) -> str:
        path = self.path
        if relative_to is not None:
            with contextlib.suppress(ValueError):
                path = self.path.resolve().relative_to(relative_to.resolve())
        return f"{path.as_posix()}:{self.line}: {self.reason}"


def module_name(path: Path) -> tuple[str, Path]:
    """Dotted name of the file, from the packages (folders with __init__.py) it sits in, and
    the folder the top package lives in (where its imports resolve)."""
    path = path.resolve()
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.parent.name, folder


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    is_package: bool
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # local -> (mod, attr)
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)
    annotated: dict[str, list[ast.expr]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)

    def where(self, node: ast.AST) -> str:
        return f"{_display(self.path)}:{getattr(node, 'lineno', 0)}"


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _absolute(module: Module, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    package = module.name.split(".")
    if not module.is_package:
        package = package[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, name] if name else base)


def _index(module: Module) -> None:
    for node in module.tree.body:
        _index_statement(module, node)


def _index_statement(module: Module, node: ast.stmt) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                module.imports[alias.asname] = (alias.name, None)
            else:
                top = alias.name.split(".")[0]
                module.imports[top] = (top, None)
    elif isinstance(node, ast.ImportFrom):
        source = _absolute(module, node.level, node.module)
        for alias in node.names:
            if alias.name != "*":
                module.imports[alias.asname or alias.name] = (source, alias.name)
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                module.assigned.setdefault(target.id, []).append(node.value)
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        module.annotated.setdefault(node.target.id, []).append(node.annotation)
        if node.value is not None:
            module.assigned.setdefault(node.target.id, []).append(node.value)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        module.functions[node.name] = node
    elif isinstance(node, ast.ClassDef):
        module.classes[node.name] = node
    elif isinstance(node, ast.If | ast.Try):
        # `if TYPE_CHECKING:` imports, `try: import x except ImportError:` fallbacks
        for body in (node.body, node.orelse, *(h.body for h in getattr(node, "handlers", []))):
            for statement in body:
                _index_statement(module, statement)


def _sqlalchemy(module: str, attr: str) -> Value | None:
    if module != "sqlalchemy" and not module.startswith("sqlalchemy."):
        return None
    if attr in MAKER_TYPES:
        return Value(What.MAKER_TYPE, attr)
    if attr in SESSION_TYPES:
        return Value(What.SESSION_TYPE, attr)
    return None


class Project:
    """Every module the checked files reach through imports, parsed on demand."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        self.modules: dict[str, Module | None] = {}
        self._symbols: dict[tuple[str, str], Value | None] = {}
        self._class_attrs: dict[tuple[str, str], dict[str, Value]] = {}
        self._attribute_paths: dict[tuple[str, ...], Value] | None = None
        self.checked: list[Module] = []

    def add(self, path: Path) -> Module:
        name, root = module_name(path)
        if root not in self.roots:
            self.roots.append(root)
        module = self._parse(name, path)
        self.modules[name] = module
        return module

    def _parse(self, name: str, path: Path) -> Module:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = Module(name, path, tree, path.name == "__init__.py")
        _index(module)
        return module

    def module(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        self.modules[name] = None  # also guards against import cycles
        relative = Path(*name.split("."))
        for root in self.roots:
            for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
                if candidate.is_file():
                    try:
                        self.modules[name] = self._parse(name, candidate)
                    except (SyntaxError, UnicodeDecodeError, OSError):
                        return None
                    return self.modules[name]
        return None

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
        found = _sqlalchemy(module_name, name)
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
            function = module.functions[name]
            origin = self.maker_factory_origin(module, function)
            return Value(What.MAKER_FACTORY, origin) if origin else None
        if name in module.classes:
            return self._class_value(module, module.classes[name])
        scope = Scope(self, module)
        for annotation in module.annotated.get(name, ()):
            if (text := scope.maker_annotation(annotation)) is not None:
                return Value(What.MAKER, f"`{name}: {text}`, {module.where(annotation)}")
        for expression in module.assigned.get(name, ()):
            value = scope.value(expression)
            if value is not None and value.what is not What.MODULE:
                return value
        if self.module(f"{module_name}.{name}") is not None:
            return Value(What.MODULE, f"{module_name}.{name}")
        return None

    def _class_value(self, module: Module, node: ast.ClassDef) -> Value | None:
        scope = Scope(self, module)
        for base in node.bases:
            value = scope.value(base)
            if value is not None and value.what is What.SESSION_TYPE:
                return Value(What.SESSION_TYPE, f"{node.name}, a {value.origin} subclass")
        return None

    def maker_factory_origin(
        self, module: Module, function: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> str | None:
        """Why calling `function` gives a session maker, or None when it does not."""
        outer = Scope(self, module)
        if function.returns is not None:
            text = outer.maker_annotation(function.returns)
            if text is not None:
                return f"{function.name}() is annotated to return {text}, {module.where(function)}"
        scope = Scope(self, module, function=function, parent=outer)
        for node in _own_nodes(function):
            if isinstance(node, ast.Return) and node.value is not None:
                value = scope.value(node.value)
                if value is not None and value.what is What.MAKER:
                    return f"{function.name}() returns {value.origin}"
        return None

    # -- attributes of classes (self._session_maker) ----------------------------------------

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
                text = scope.maker_annotation(statement.annotation)
                if text is not None:
                    found[statement.target.id] = Value(
                        What.MAKER,
                        f"field `{statement.target.id}: {text}`, {module.where(statement)}",
                    )
            elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                found.update(self._assigned_in_method(module, node, statement))
        self._class_attrs[key] = found
        return found

    def _assigned_in_method(
        self,
        module: Module,
        owner: ast.ClassDef,
        method: ast.FunctionDef | ast.AsyncFunctionDef,
    ) -> dict[str, Value]:
        arguments = method.args.posonlyargs + method.args.args
        if not arguments:
            return {}
        me = arguments[0].arg
        scope = Scope(self, module, function=method, parent=Scope(self, module), owner=owner)
        found: dict[str, Value] = {}
        for node in _own_nodes(method):
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
                ):
                    continue
                text = scope.maker_annotation(annotation) if annotation is not None else None
                value = scope.value(value_node) if value_node is not None else None
                if text is not None:
                    value = Value(What.MAKER, f"`{me}.{target.attr}: {text}`")
                if value is not None and value.what is What.MAKER:
                    found[target.attr] = Value(
                        What.MAKER,
                        f"{me}.{target.attr} is set at {module.where(node)} from {value.origin}",
                    )
        return found

    def attribute_paths(self) -> dict[tuple[str, ...], Value]:
        """`app.state.session_maker = maker` anywhere: the attribute path (`state`,
        `session_maker`) then names a session maker on any object."""
        if self._attribute_paths is not None:
            return self._attribute_paths
        self._attribute_paths = {}
        for module in [m for m in self.modules.values() if m is not None]:
            for function, node in _assignments(module.tree):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    chain = _chain(target)
                    if chain is None or len(chain) < 3 or chain[0] in ("self", "cls"):
                        continue
                    scope = Scope(self, module, function=function, parent=Scope(self, module))
                    value = scope.value(node.value) if node.value is not None else None
                    if value is not None and value.what is What.MAKER:
                        self._attribute_paths[chain[-2:]] = Value(
                            What.MAKER,
                            f"{'.'.join(chain)} is set at {module.where(node)} from {value.origin}",
                        )
        return self._attribute_paths


def _chain(node: ast.expr) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return (node.id, *parts)
    return None


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not of the functions or classes nested in it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def _assignments(
    tree: ast.AST,
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, ast.Assign | ast.AnnAssign]]:
    def walk(
        node: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None
    ) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, ast.Assign | ast.AnnAssign]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Assign | ast.AnnAssign):
                yield function, child
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            yield from walk(child, inner)

    return walk(tree, None)


class Scope:
    """Names visible at one place: a function's parameters and locals, its enclosing
    functions', then the module's."""

    def __init__(
        self,
        project: Project,
        module: Module,
        *,
        function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None = None,
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

    def maker_annotation(self, annotation: ast.expr | None) -> str | None:
        """The annotation's text when it says "a session maker", else None."""
        if annotation is None:
            return None
        return ast.unparse(annotation) if self._is_maker_type(annotation) else None

    def _is_maker_type(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                parsed = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return False
            return self._is_maker_type(parsed)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._is_maker_type(node.left) or self._is_maker_type(node.right)
        if isinstance(node, ast.Subscript):
            head = _chain(node.value)
            name = head[-1] if head else ""
            arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if name in ("Annotated", "Optional", "Final", "ClassVar"):
                return bool(arguments) and self._is_maker_type(arguments[0])
            if name == "Union":
                return any(self._is_maker_type(a) for a in arguments)
            if name == "Callable" and len(arguments) == 2:
                returned = self._module_value(arguments[1])
                return returned is not None and returned.what is What.SESSION_TYPE
            return self._is_maker_type(node.value)
        value = self._module_value(node)
        if value is None:
            return False
        return value.what is What.MAKER_TYPE

    def _module_value(self, node: ast.expr) -> Value | None:
        """Annotations name types, so they are looked up among the module's names only."""
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
            base = self.value(node.value)
            if base is not None and base.what is What.MAKER_TYPE:
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

    def _call(self, node: ast.Call) -> Value | None:
        callee = self.value(node.func)
        if callee is None:
            head = _chain(node.func)
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
            return None
        if callee.what is What.MAKER_TYPE:
            return Value(What.MAKER, f"the {callee.origin}(...) at {self.module.where(node)}")
        if callee.what is What.MAKER_FACTORY:
            return Value(What.MAKER, f"the result of {callee.origin}")
        return None

    def _attribute(self, node: ast.Attribute) -> Value | None:
        base = node.value
        owner = self._self_owner(base.id) if isinstance(base, ast.Name) else None
        if owner is not None:
            return self.project.class_attributes(self.module, owner).get(node.attr)
        container = self.value(base)
        if container is not None and container.what is What.MODULE:
            return self.project.symbol(container.origin, node.attr)
        chain = _chain(node)
        if chain is not None and len(chain) >= 3 and container is None:
            return self.project.attribute_paths().get(chain[-2:])
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
            if function is not None and name in scope._local_names():
                return None
            scope = scope.parent
        return None

    def class_of(self, node: ast.expr) -> tuple[Module, ast.ClassDef] | None:
        """The project class a base-class expression names, wherever it is defined."""
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

    def _class_in(self, module_name: str, name: str) -> tuple[Module, ast.ClassDef] | None:
        module = self.project.module(module_name)
        if module is None:
            return None
        if name in module.classes:
            return module, module.classes[name]
        if name in module.imports:
            source, attr = module.imports[name]
            return self._class_in(source, attr) if attr else None
        return None

    def _local_names(self) -> dict[str, list[ast.AST]]:
        if self._locals is None:
            self._locals = {}
            function = self.function
            if function is not None:
                arguments = function.args
                for argument in (
                    *arguments.posonlyargs,
                    *arguments.args,
                    *arguments.kwonlyargs,
                    *([arguments.vararg] if arguments.vararg else []),
                    *([arguments.kwarg] if arguments.kwarg else []),
                ):
                    self._locals.setdefault(argument.arg, []).append(argument)
                for node in _own_nodes(function):
                    if isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                self._locals.setdefault(target.id, []).append(node)
                    elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and isinstance(
                        node.target, ast.Name
                    ):
                        self._locals.setdefault(node.target.id, []).append(node)
                    elif isinstance(node, ast.withitem) and isinstance(
                        node.optional_vars, ast.Name
                    ):
                        self._locals.setdefault(node.optional_vars.id, []).append(node)
        return self._locals

    def lookup(self, name: str) -> Value | None:
        if self.function is None:
            return self.project.symbol(self.module.name, name)
        bindings = self._local_names().get(name)
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

    def _binding_value(self, name: str, binding: ast.AST) -> Value | None:
        where = self.module.where(binding)
        if isinstance(binding, ast.arg):
            text = self.maker_annotation(binding.annotation)
            if text is not None:
                return Value(What.MAKER, f"parameter `{name}: {text}`, {where}")
            default = self._default_of(binding)
            if default is not None:
                found = self.value(default)
                if found is not None and found.what is What.MAKER:
                    return Value(What.MAKER, f"parameter `{name}` defaulting to {found.origin}")
            return None
        if isinstance(binding, ast.AnnAssign):
            text = self.maker_annotation(binding.annotation)
            if text is not None:
                return Value(What.MAKER, f"`{name}: {text}`, {where}")
            return self.value(binding.value) if binding.value is not None else None
        if isinstance(binding, ast.Assign | ast.NamedExpr):
            return self.value(binding.value)
        return None  # `with maker() as db`: db is a session, not a maker

    def _default_of(self, argument: ast.arg) -> ast.expr | None:
        function = self.function
        if function is None:
            return None
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        if argument in positional:
            offset = len(positional) - len(arguments.defaults)
            index = positional.index(argument) - offset
            return arguments.defaults[index] if index >= 0 else None
        if argument in arguments.kwonlyargs:
            return arguments.kw_defaults[arguments.kwonlyargs.index(argument)]
        return None


class _Checker(ast.NodeVisitor):
    """Walks one module with its scopes and reports each call that opens a session."""

    def __init__(self, project: Project, module: Module) -> None:
        self.project = project
        self.module = module
        self.scope = Scope(project, module)
        self.owner: ast.ClassDef | None = None
        self.findings: list[Finding] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in (*node.bases, *node.keywords, *node.decorator_list):
            self.visit(child)
        outer_owner, self.owner = self.owner, node
        for statement in node.body:
            self.visit(statement)
        self.owner = outer_owner

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
        for default in (*node.args.defaults, *[d for d in node.args.kw_defaults if d]):
            self.visit(default)
        outer_scope, outer_owner = self.scope, self.owner
        self.scope = Scope(
            self.project, self.module, function=node, parent=outer_scope, owner=self.owner
        )
        self.owner = None  # classes nested in the function are visited afresh
        body = node.body if isinstance(node.body, list) else [node.body]
        for statement in body:
            self.visit(statement)
        self.scope, self.owner = outer_scope, outer_owner

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

    def visit_Call(self, node: ast.Call) -> None:
        reason = self._opens_session(node)
        if reason is not None:
            self.findings.append(Finding(self.module.path, node.lineno, reason))
        self.generic_visit(node)

    def _opens_session(self, node: ast.Call) -> str | None:
        text = ast.unparse(node.func)
        callee = self.scope.value(node.func)
        if callee is not None and callee.what is What.MAKER:
            return (
                f"opens a session of its own with {text}() outside the composition root; "
                f"{text} is a session maker ({callee.origin})"
            )
        if callee is not None and callee.what is What.SESSION_TYPE:
            return (
                f"builds a session directly with {text}(...) outside the composition root "
                f"({callee.origin})"
            )
        if isinstance(node.func, ast.Attribute) and node.func.attr == "begin":
            owner = self.scope.value(node.func.value)
            if owner is not None and owner.what is What.MAKER:
                maker = ast.unparse(node.func.value)
                return (
                    f"opens a session of its own with {text}() outside the composition root; "
                    f"{maker} is a session maker ({owner.origin})"
                )
        return None


def creates_maker(project: Project, module: Module) -> bool:
    """Whether the module calls sessionmaker(...) or the like: then it is a composition root."""
    checker = _Checker(project, module)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            callee = checker.scope.value(node.func)
            if callee is not None and callee.what is What.MAKER_TYPE:
                return True
    return False


def python_files(paths: list[Path], config: LintConfig) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
            continue
        for candidate in sorted(path.rglob("*.py")):
            parts = candidate.relative_to(path).parts[:-1]
            if any(p.startswith(".") or p in SKIPPED_DIRS for p in parts):
                continue
            if any(
                (path / Path(*parts[: i + 1]) / "pyvenv.cfg").exists() for i in range(len(parts))
            ):
                continue
            files.append(candidate)
    return [f for f in files if not config.excluded(f)]


def check(paths: list[Path], config: LintConfig) -> list[Finding]:
    """Findings in the files under `paths`, in file and line order. Raises SyntaxError for a
    file that does not parse."""
    project = Project([])
    modules = [project.add(path) for path in python_files(paths, config)]
    findings: list[Finding] = []
    for module in modules:
        if config.composition_root is not None:
            is_root = config.is_root(module.name)
        else:
            is_root = creates_maker(project, module)
        if is_root:
            continue
        checker = _Checker(project, module)
        checker.visit(module.tree)
        findings += checker.findings
    return sorted(findings, key=lambda f: (str(f.path), f.line))
