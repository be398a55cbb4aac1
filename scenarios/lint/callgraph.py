"""Following the calls (SCN001 across functions): a call made while a session is in hand, to a
function or method of the checked code that opens a session of its own and writes in it
(directly or further down its calls), is the bug this project is about, reported at the line
that opens the second session with the calling line beside it.

Callees are found by resolution (`scope`, `members`): plain functions, methods of `self` and of
objects whose class is known (attributes, parameters, the result of a call whose function is
annotated or seen to return an instance: `provide_db().session_context()`), with overridden and
abstract methods followed into the subclasses that implement them. A runner that opens a session
and calls back (`run_with_new_session(func)`) is judged where it is called. A call that passes a
session along is not followed: the callee works in the caller's session."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from scenarios.lint.findings import LintFinding
from scenarios.lint.hierarchy import is_abstract
from scenarios.lint.project import Project
from scenarios.lint.scope import Scope
from scenarios.lint.source import Function, Module
from scenarios.lint.syntax import chain, own_nodes, parameters
from scenarios.lint.values import What

WRITES = frozenset(
    {
        "add",
        "add_all",
        "delete",
        "merge",
        "flush",
        "commit",
        "bulk_save_objects",
        "bulk_insert_mappings",
        "bulk_update_mappings",
    }
)
WRITING_SQL = ("insert(", "update(", "delete(", "insert into", "update ", "delete from", "upsert")
SESSION_WORDS = ("session", "db", "sess", "conn", "uow")
DEPTH = 4  # how far down the calls an opening is looked for

Target = tuple[Module, Function, ast.ClassDef | None]


@dataclass(frozen=True)
class Opening:
    module: Module
    node: ast.Call
    function: str  # the qualified name of the function that opens it
    text: str  # what opens it, for the message


@dataclass
class InHandCall:
    """A call made where a session is in hand, recorded by the rules' walk."""

    module: Module
    node: ast.Call
    scope: Scope
    in_hand: str


@dataclass
class CallGraph:
    project: Project
    _openings: dict[int, list[Opening]] = field(default_factory=dict)

    # -- callees ----------------------------------------------------------------------------

    def callees(self, scope: Scope, call: ast.Call) -> list[Target]:
        """The project functions a call may run (overrides included)."""
        func = call.func
        found: list[Target] = []
        value = scope.value(func)
        if value is not None and value.ref is not None and value.what is What.FUNCTION:
            try:
                found.append(self.project.function_at(value.ref))
            except (KeyError, AssertionError):
                return []
        elif value is None and isinstance(func, ast.Attribute):
            receiver = self.receiver(scope, func.value)
            if receiver is not None:
                method = self.project.members.method(*receiver, func.attr)
                if method is not None:
                    found.append(method)
        targets: list[Target] = []
        for module, function, owner in found:
            if owner is not None:
                overrides = self.project.members.overrides(module, owner, function.name)
                if not is_abstract(function):
                    targets.append((module, function, owner))
                targets += overrides
            else:
                targets.append((module, function, owner))
        return targets

    def receiver(self, scope: Scope, node: ast.expr) -> tuple[Module, ast.ClassDef] | None:
        """The class of the object a method is called on."""
        if isinstance(node, ast.Call):
            return self.returned_class(scope, node)
        value = scope.value(node)
        if value is None or value.ref is None or value.what not in (What.INSTANCE, What.CLASS):
            return None
        module = self.project.module(value.ref[0])
        if module is None or value.ref[1] not in module.classes:
            return None
        return module, module.classes[value.ref[1]]

    def returned_class(self, scope: Scope, call: ast.Call) -> tuple[Module, ast.ClassDef] | None:
        """The class of what a call gives: `Repo()`, or a function annotated to return a
        project class or returning an instance of one."""
        value = scope.value(call)
        if value is not None and value.what is What.INSTANCE and value.ref is not None:
            module = self.project.module(value.ref[0])
            if module is not None and value.ref[1] in module.classes:
                return module, module.classes[value.ref[1]]
        callee = scope.value(call.func)
        if callee is None or callee.ref is None or callee.what is not What.FUNCTION:
            return None
        try:
            module, function, owner = self.project.function_at(callee.ref)
        except (KeyError, AssertionError):
            return None
        inner = Scope(self.project, module, function=function, parent=Scope(self.project, module))
        inner.owner = owner
        candidates: list[ast.expr] = [function.returns] if function.returns is not None else []
        candidates += [
            n.value for n in own_nodes(function) if isinstance(n, ast.Return) and n.value
        ]
        for index, candidate in enumerate(candidates):
            found = inner.annotation(candidate) if index == 0 and function.returns else None
            found = found or inner.value(candidate)
            if found is not None and found.what is What.INSTANCE and found.ref is not None:
                owner_module = self.project.module(found.ref[0])
                if owner_module is not None and found.ref[1] in owner_module.classes:
                    return owner_module, owner_module.classes[found.ref[1]]
        return None

    # -- openings ---------------------------------------------------------------------------

    def openings(self, target: Target, depth: int = 0) -> list[Opening]:
        """The sessions a call of `target` opens and writes in, itself or down its calls, when
        it is given none."""
        module, function, owner = target
        key = id(function)
        if key in self._openings:
            return self._openings[key]
        self._openings[key] = []  # cycle guard
        scope = Scope(
            self.project, module, function=function, parent=Scope(self.project, module), owner=owner
        )
        if scope.hands_out() is not None:
            return []  # a helper that hands its session out: its callers are judged
        qualified = f"{owner.name}.{function.name}" if owner else function.name
        guarded = _opened_only_when_absent(function)
        found: list[Opening] = []
        for node in own_nodes(function):
            if not isinstance(node, ast.Call):
                continue
            if scope.opening(node) is not None:
                if id(node) not in guarded and self.writes_in(scope, function, node):
                    found.append(Opening(module, node, qualified, ast.unparse(node.func)))
                continue
            if depth >= DEPTH or passes_a_session(scope, node):
                continue
            for callee in self.callees(scope, node):
                found += self.openings(callee, depth + 1)
        self._openings[key] = found
        return found

    def writes_in(self, scope: Scope, function: Function, opening: ast.Call) -> bool:
        """Whether the session `opening` opens is written: add/delete/merge/flush/commit, an
        `execute` of an insert/update/delete, or handed to a function that does so."""
        names = _bound_names(function, opening)
        for node in own_nodes(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and (
                func.value is opening
                or (isinstance(func.value, ast.Name) and func.value.id in names)
            ):
                if func.attr in WRITES:
                    return True
                if func.attr == "execute" and _writing_sql(function, node):
                    return True
                continue
            passed = [
                i for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id in names
            ]
            passed_kw = [
                k.arg
                for k in node.keywords
                if isinstance(k.value, ast.Name) and k.value.id in names and k.arg
            ]
            if passed or passed_kw:
                for callee in self.callees(scope, node):
                    if _writes_parameter(callee, passed, passed_kw):
                        return True
        return False

    # -- findings ---------------------------------------------------------------------------

    def findings(self, calls: list[InHandCall], reported: set[str]) -> list[LintFinding]:
        """SCN001 at each opening reached from a call with a session in hand, in a module
        named in `reported`, with the calling lines."""
        callers: dict[tuple[str, int], tuple[Opening, list[str]]] = {}
        for call in calls:
            if passes_a_session(call.scope, call.node):
                continue
            for callee in self.callees(call.scope, call.node):
                for opening in self.openings(callee):
                    if opening.module.name not in reported:
                        continue
                    key = (opening.module.name, opening.node.lineno)
                    line = f"{call.module.where(call.node)} ({call.in_hand})"
                    entry = callers.setdefault(key, (opening, []))
                    if line not in entry[1]:
                        entry[1].append(line)
        found: list[LintFinding] = []
        for opening, lines in callers.values():
            more = f"; and from {len(lines) - 1} more call(s)" if len(lines) > 1 else ""
            reason = (
                f"{opening.function}() opens a session of its own with {opening.text}() and "
                f"writes in it, but it is called while a session is in hand, from {lines[0]}"
                f"{more}: its writes are committed or lost apart from the caller's"
            )
            node = opening.node
            found.append(
                LintFinding(
                    opening.module.path,
                    node.lineno,
                    "SCN001",
                    reason,
                    column=node.col_offset + 1,
                    end_line=node.end_lineno or node.lineno,
                )
            )
        return found


def passes_a_session(scope: Scope, call: ast.Call) -> bool:
    """The call hands a session along (an argument that is one, or named like one)."""
    for argument in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(argument, ast.Starred):
            argument = argument.value
        if not isinstance(argument, ast.Name | ast.Attribute):
            continue
        value = scope.value(argument)
        if value is not None and value.what is What.SESSION:
            return True
        names = chain(argument)
        if names and names[-1].lower().lstrip("_").startswith(SESSION_WORDS):
            return True
    return any(k.arg and k.arg.lower().startswith(SESSION_WORDS) for k in call.keywords)


def _bound_names(function: Function, opening: ast.Call) -> set[str]:
    """The names the opened session is bound to (`with ... as s`, `s = ...`)."""
    names: set[str] = set()
    for node in own_nodes(function):
        if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            expr = node.context_expr
            expr = expr.value if isinstance(expr, ast.Await) else expr
            if any(n is opening for n in ast.walk(expr)):
                names.add(node.optional_vars.id)
        elif isinstance(node, ast.Assign):
            value = node.value.value if isinstance(node.value, ast.Await) else node.value
            if value is opening:
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _writing_sql(function: Function, execute: ast.Call) -> bool:
    if not execute.args:
        return False
    argument = execute.args[0]
    texts = [ast.unparse(argument).lower()]
    if isinstance(argument, ast.Name):
        texts += [
            ast.unparse(n.value).lower()
            for n in own_nodes(function)
            if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == argument.id for t in n.targets)
        ]
    return any(word in text for text in texts for word in WRITING_SQL)


def _writes_parameter(target: Target, positions: list[int], keywords: list[str]) -> bool:
    """Whether the callee writes in the parameters that receive the session."""
    _, function, owner = target
    positional = [*function.args.posonlyargs, *function.args.args]
    if owner is not None and positional and not _is_static(function):
        positional = positional[1:]
    names = {positional[i].arg for i in positions if i < len(positional)}
    names |= {p.arg for p in parameters(function) if p.arg in keywords}
    for node in own_nodes(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in names
            and node.func.attr in WRITES
        ):
            return True
    return False


def _is_static(function: Function) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list)


def _opened_only_when_absent(function: Function) -> set[int]:
    """ids of calls under `if x is None:` / `if not x:` or in `x = x or ...`: a session opened
    only when the caller gave none."""
    guarded: set[int] = set()
    for node in own_nodes(function):
        if isinstance(node, ast.If) and _tests_absence(node.test):
            for statement in node.body:
                guarded.update(id(n) for n in ast.walk(statement) if isinstance(n, ast.Call))
        elif isinstance(node, ast.IfExp) and _tests_absence(node.test):
            guarded.update(id(n) for n in ast.walk(node.body) if isinstance(n, ast.Call))
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            for operand in node.values[1:]:
                guarded.update(id(n) for n in ast.walk(operand) if isinstance(n, ast.Call))
    return guarded


def _tests_absence(test: ast.expr) -> bool:
    """`not session`, `db is None` (a session-like name tested for absence)."""
    for node in ast.walk(test):
        tested: ast.expr | None = None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            tested = node.operand
        elif isinstance(node, ast.Compare) and any(
            isinstance(c, ast.Constant) and c.value is None for c in node.comparators
        ):
            tested = node.left
        if tested is not None and any(w in ast.unparse(tested).lower() for w in SESSION_WORDS):
            return True
    return False
