"""Reading one Python file as the interpreter would: its declared encoding (PEP 263), its
dotted module name from the packages it sits in, and a clear reason when it cannot be read."""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path

Function = ast.FunctionDef | ast.AsyncFunctionDef


class SourceError(Exception):
    """A file that cannot be read or parsed: it is reported and skipped."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: list[str]
    is_package: bool
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # local -> (mod, attr)
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)
    annotated: dict[str, list[ast.expr]] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    shown: str = ""  # the path as messages show it

    def where(self, node: ast.AST) -> str:
        if not self.shown:
            self.shown = display(self.path)
        return f"{self.shown}:{getattr(node, 'lineno', 0)}"


def top_level_functions(module: Module) -> list[tuple[Function, ast.ClassDef | None]]:
    """The module's functions and its classes' methods, each with its class (None at top level)."""
    found: list[tuple[Function, ast.ClassDef | None]] = []
    for statement in module.tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((statement, None))
        elif isinstance(statement, ast.ClassDef):
            found += [
                (s, statement)
                for s in statement.body
                if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
    return found


def display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


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


def read_module(name: str, path: Path) -> Module:
    """Parse `path` with its declared encoding; SourceError when it cannot be."""
    try:
        data = path.read_bytes()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError) as error:
        raise SourceError(path, 1, f"cannot read: {error}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in the checked code
            tree = ast.parse(text.removeprefix("\ufeff"), filename=str(path))
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None) or 1
        message = getattr(error, "msg", None) or str(error)
        raise SourceError(path, line, f"cannot parse: {message}") from None
    module = Module(name, path, tree, text.splitlines(), path.name == "__init__.py")
    _index(module)
    return module


def absolute(module: Module, level: int, name: str | None) -> str:
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


def import_bindings(
    module: Module, node: ast.Import | ast.ImportFrom
) -> list[tuple[str, tuple[str, str | None]]]:
    """(local name, (module, attribute or None)) for each name an import statement binds."""
    found: list[tuple[str, tuple[str, str | None]]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                found.append((alias.asname, (alias.name, None)))
            else:
                top = alias.name.split(".")[0]
                found.append((top, (top, None)))
    else:
        source = absolute(module, node.level, node.module)
        for alias in node.names:
            if alias.name != "*":
                found.append((alias.asname or alias.name, (source, alias.name)))
    return found


def _index_statement(module: Module, node: ast.stmt) -> None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        module.imports.update(import_bindings(module, node))
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                module.assigned.setdefault(target.id, []).append(node.value)
            elif isinstance(target, ast.Tuple | ast.List):
                for index, element in enumerate(target.elts):
                    if isinstance(element, ast.Name):
                        item = ast.Subscript(node.value, ast.Constant(index), ast.Load())
                        ast.copy_location(item, node)
                        module.assigned.setdefault(element.id, []).append(item)
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        module.annotated.setdefault(node.target.id, []).append(node.annotation)
        if node.value is not None:
            module.assigned.setdefault(node.target.id, []).append(node.value)
    elif type(node).__name__ == "TypeAlias":  # PEP 695 `type X = ...` (Python 3.12+)
        name, value = getattr(node, "name", None), getattr(node, "value", None)
        if isinstance(name, ast.Name) and isinstance(value, ast.expr):
            module.assigned.setdefault(name.id, []).append(value)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        module.functions[node.name] = node
    elif isinstance(node, ast.ClassDef):
        module.classes[node.name] = node
    elif isinstance(node, ast.If | ast.Try):
        # `if TYPE_CHECKING:` imports, `try: import x except ImportError:` fallbacks
        for body in (node.body, node.orelse, *(h.body for h in getattr(node, "handlers", []))):
            for statement in body:
                _index_statement(module, statement)
