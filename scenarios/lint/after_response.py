"""The commit after the response (SCN004): a FastAPI dependency with `yield` that commits the
request's session after the `yield` (`yield db; await db.commit()`, or `yield` inside
`async with db.begin():`). FastAPI runs the code after `yield` after the response is sent (from
0.118 on, as before 0.106): the client hears 2xx before the commit, which may then fail (the
rows are gone) or simply not have run when the client reads again.

A request dependency is a function used in `Depends()` / `Security()`, or a plain generator
that yields a session in a module that imports FastAPI (its `Depends` may be out of sight).
Silent when every use is `Depends(f, scope="function")` (FastAPI >= 0.121 runs the exit code
before the response), for `@contextmanager` helpers and generators wrapped by one (their
`with` block ends inside the handler), and for dependencies of other frameworks (`Provide`).
"""

from __future__ import annotations

import ast

from scenarios.lint.findings import LintFinding
from scenarios.lint.project import Project
from scenarios.lint.roots import DependencyUses
from scenarios.lint.scope import Scope
from scenarios.lint.source import Function, Module, top_level_functions
from scenarios.lint.syntax import chain, own_nodes
from scenarios.lint.values import What

WRAPPERS = frozenset({"contextmanager", "asynccontextmanager", "fixture", "yield_fixture"})
ITERATORS = frozenset(
    {"Iterator", "Iterable", "Generator", "AsyncIterator", "AsyncIterable", "AsyncGenerator"}
)
FASTAPI_MARKERS = frozenset({"Depends", "Security"})


def after_response_findings(
    project: Project, module: Module, dependencies: DependencyUses
) -> list[LintFinding]:
    fastapi = any(source.split(".")[0] == "fastapi" for source, _ in module.imports.values())
    if not fastapi and not any((module.name, q) in dependencies for q in _qualified(module)):
        return []
    wrapped = _wrapped_by_a_context_manager(module)
    found: list[LintFinding] = []
    for function, owner in top_level_functions(module):
        qualified = f"{owner.name}.{function.name}" if owner else function.name
        uses = {
            u for u in dependencies.get((module.name, qualified), set()) if u[0] in FASTAPI_MARKERS
        }
        if not uses and not (
            fastapi and owner is None and (module.name, qualified) not in dependencies
        ):
            continue  # not a FastAPI dependency, as far as can be seen
        if uses and all(scope == "function" for _, scope in uses):
            continue  # Depends(f, scope="function"): the exit code runs before the response
        if function.name in wrapped or _decorated_by_a_wrapper(function):
            continue
        yields = [n for n in own_nodes(function) if isinstance(n, ast.Yield)]
        if len(yields) != 1 or yields[0].value is None:
            continue
        scope = Scope(
            project, module, function=function, parent=Scope(project, module), owner=owner
        )
        if not _yields_a_session(scope, function, yields[0].value):
            continue
        commit = _commit_after(function, yields[0])
        if commit is not None:
            node, how = commit
            found.append(_finding(module, node, qualified, how))
    return found


def _finding(module: Module, node: ast.expr, qualified: str, how: str) -> LintFinding:
    name = qualified.rpartition(".")[2]
    reason = (
        f"{qualified}() {how}, which FastAPI runs after the response is sent "
        "(from 0.118 on, and before 0.106): the client hears 2xx before the commit, and its "
        f"rows are lost if the commit fails; commit before returning, or use Depends({name}, "
        'scope="function") (FastAPI >= 0.121)'
    )
    return LintFinding(
        module.path,
        node.lineno,
        "SCN004",
        reason,
        column=node.col_offset + 1,
        end_line=node.end_lineno or node.lineno,
    )


def _qualified(module: Module) -> list[str]:
    return [f"{o.name}.{f.name}" if o else f.name for f, o in top_level_functions(module)]


def _wrapped_by_a_context_manager(module: Module) -> set[str]:
    """Names passed to `contextmanager(f)` / `asynccontextmanager(f)` in this module."""
    found: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
            head = chain(node.func)
            if head and head[-1] in WRAPPERS:
                found.add(node.args[0].id)
    return found


def _decorated_by_a_wrapper(function: Function) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        head = chain(target)
        if head and head[-1] in WRAPPERS:
            return True
    return False


def _yields_a_session(scope: Scope, function: Function, value: ast.expr) -> bool:
    """What is yielded resolves to a session, or the return annotation says so
    (`AsyncIterator[AsyncSession]`, `Generator[Session, None, None]`)."""
    if scope.opening_expr(value):
        return True
    found = scope.value(value)
    if found is not None and found.what is What.SESSION:
        return True
    returns = function.returns
    if isinstance(returns, ast.Subscript):
        head = chain(returns.value)
        if head and head[-1] in ITERATORS:
            arguments = (
                returns.slice.elts if isinstance(returns.slice, ast.Tuple) else [returns.slice]
            )
            typed = scope.annotation(arguments[0]) if arguments else None
            return typed is not None and typed.what is What.SESSION
    return False


def _commit_after(function: Function, yielded: ast.Yield) -> tuple[ast.expr, str] | None:
    """The first commit of the yielded session that runs after the `yield`: a `.commit()`
    below it, or the end of a `with session.begin():` / `with maker.begin() as session:`
    block around it."""
    assert yielded.value is not None
    name = ast.unparse(yielded.value)
    line = yielded.lineno
    for node in own_nodes(function):
        if not isinstance(node, ast.With | ast.AsyncWith):
            continue
        if not (node.lineno <= line <= (node.end_lineno or node.lineno)):
            continue
        for item in node.items:
            call = item.context_expr
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "begin"
            ):
                continue
            bound = ast.unparse(item.optional_vars) if item.optional_vars is not None else None
            if ast.unparse(call.func.value) == name or bound == name:
                return (
                    call,
                    f"commits at the end of `with {ast.unparse(call)}:`, around its `yield`",
                )
    commits = [
        node
        for node in own_nodes(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
        and ast.unparse(node.func.value) == name
        and node.lineno > line
    ]
    if commits:
        first = min(commits, key=lambda n: (n.lineno, n.col_offset))
        return first, f"commits {name} after `yield`"
    return None
