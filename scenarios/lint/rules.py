"""The rules: walk one module and report each place that opens a session where the work is
done (SCN003), ranking first the places that already have a session in hand (SCN001)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from scenarios.lint.callgraph import InHandCall
from scenarios.lint.config import LintConfig
from scenarios.lint.findings import LintFinding
from scenarios.lint.project import Project
from scenarios.lint.registries import handed_out, site, task_registry_use
from scenarios.lint.roots import (
    DependencyUses,
    event_listeners,
    function_role,
    in_main_block,
    session_in_hand,
    sets_request_state,
)
from scenarios.lint.scope import Scope
from scenarios.lint.source import Function, Module
from scenarios.lint.syntax import default_of, own_nodes, parameters
from scenarios.lint.values import Value, What

SILENT_PATHS = ("tests", "migrations", "entry-points")  # workers: silent for their own unit


@dataclass(frozen=True)
class Context:
    """What the whole run knows that one module needs."""

    config: LintConfig
    path_role: str | None  # tests, migrations, entry-points, or None
    dependencies: DependencyUses
    unit_roots: frozenset[tuple[str, str]] = frozenset()  # functions started as their own unit


def describe(text: str, opened: Value) -> str:
    if opened.what is What.SESSION_TYPE:
        return f"builds a session directly with {text}(...) ({opened.origin})"
    if opened.what is What.OPENER:
        return f"opens a session with {text}(), a helper that opens one ({opened.origin})"
    return f"opens a session with {text}(); it is a session maker ({opened.origin})"


class ModuleRules(ast.NodeVisitor):
    """Walks one module with its scopes and reports each call that opens a session."""

    def __init__(self, project: Project, module: Module, context: Context) -> None:
        self.project = project
        self.module = module
        self.context = context
        self.scope = Scope(project, module)
        self.owner: ast.ClassDef | None = None
        self.functions: list[tuple[Function, ast.ClassDef | None, Scope]] = []
        self.opened_in: dict[int, list[int]] = {}  # id(function) -> open, unclosed sessions
        self.open_withs: list[int] = []  # lines of the `with <opens a session>` we are inside
        self.in_with: set[int] = set()  # ids of calls that are a with-item's context
        self.fallbacks: set[int] = set()  # ids of calls in `if db is None: db = maker()`
        self.tests: list[ast.expr] = []  # the conditions of the `if`s we are inside
        self.lambdas = 0  # how many lambdas we are inside
        self.registries_used: set[tuple[int, str]] = set()  # (id(function), registry site)
        self.listeners = event_listeners(module)
        self.findings: list[LintFinding] = []
        self.in_hand_calls: list[InHandCall] = []  # for the call graph (`callgraph`)
        self._in_hand: dict[int, str | None] = {}  # id(function) -> session_in_hand()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in (*node.bases, *node.keywords, *node.decorator_list):
            self.visit(child)
        outer_owner, self.owner = self.owner, node
        for statement in node.body:
            self.visit(statement)
        self.owner = outer_owner

    def _visit_function(self, node: Function | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
        for default in (*node.args.defaults, *[d for d in node.args.kw_defaults if d]):
            self.visit(default)
        outer_scope, outer_owner = self.scope, self.owner
        self.scope = Scope(
            self.project, self.module, function=node, parent=outer_scope, owner=self.owner
        )
        if not isinstance(node, ast.Lambda):
            self.functions.append((node, self.owner, self.scope))
        else:
            self.lambdas += 1
        self.owner = None  # classes nested in the function are visited afresh
        body = node.body if isinstance(node.body, list) else [node.body]
        for statement in body:
            self.visit(statement)
        if not isinstance(node, ast.Lambda):
            self.functions.pop()
        else:
            self.lambdas -= 1
        self.scope, self.owner = outer_scope, outer_owner

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

    def _visit_with(self, node: ast.With | ast.AsyncWith) -> None:
        opens = False
        for item in node.items:
            call = item.context_expr
            call = call.value if isinstance(call, ast.Await) else call
            if isinstance(call, ast.Call):
                self.in_with.add(id(call))
                opens = opens or self.scope.opening_expr(call)
            self.visit(item)
        if opens:
            self.open_withs.append(node.lineno)
        for statement in node.body:
            self.visit(statement)
        if opens:
            self.open_withs.pop()

    visit_With = _visit_with
    visit_AsyncWith = _visit_with

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self.tests.append(node.test)
        for statement in node.body:
            self.visit(statement)
        self.tests.pop()
        for statement in node.orelse:
            self.visit(statement)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        for target in node.targets:
            if not isinstance(target, ast.Name):
                continue
            if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
                mentioned = any(isinstance(v, ast.Name) and v.id == target.id for v in value.values)
                if mentioned:
                    self.fallbacks.update(id(v) for v in value.values)
            elif isinstance(value, ast.Call) and any(
                _tests_absence(test, target.id) for test in self.tests
            ):
                self.fallbacks.add(id(value))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        opened = self.scope.opening(node)
        used = task_registry_use(self.scope, node) if opened is None else None
        if opened is not None:
            self._opened(node, describe(ast.unparse(node.func), opened))
        elif used is not None:
            self._from_task_registry(node, *used)
        else:
            callee = self.scope.value(node.func)
            if (
                callee is not None
                and callee.what is What.INJECTED
                and not _passes_session(self.project, callee, node)
            ):
                self._injected(node, callee)
            elif callee is None or callee.what in (What.FUNCTION, What.INSTANCE):
                self._maybe_in_hand_call(node)
        self.generic_visit(node)

    def _maybe_in_hand_call(self, node: ast.Call) -> None:
        """Record a call made with a session in hand; the call graph follows it later."""
        if self.context.path_role in ("tests", "migrations") or not self.functions:
            return
        if self.lambdas:
            return
        function, _, scope = self.functions[-1]
        if id(function) not in self._in_hand:
            self._in_hand[id(function)] = session_in_hand(scope)
        in_hand = self._in_hand[id(function)]
        if in_hand is None and self.open_withs:
            in_hand = f"inside the session opened at line {self.open_withs[-1]}"
        if in_hand is None and self.opened_in.get(id(function)):
            in_hand = f"after the session opened at line {self.opened_in[id(function)][0]}"
        if in_hand is not None:
            self.in_hand_calls.append(InHandCall(self.module, node, scope, in_hand))

    # -- decisions ------------------------------------------------------------------------------

    def _opened(self, node: ast.Call, what: str) -> None:
        if self.context.path_role in SILENT_PATHS:
            return
        if self.lambdas:
            return  # `lambda scope: scope.enter(maker())`: a provider registered with DI
        if not self.functions:
            if (
                self.context.path_role is None
                and not in_main_block(self.module, node.lineno)
                and not self.context.config.is_root(self.module.name)
            ):
                self._report(node, "SCN003", f"{what}, at import time")
            return
        function, owner, scope = self.functions[-1]
        if scope.hands_out() is not None:
            return  # a helper: the code that calls it is what the rules judge
        if id(node) in self.fallbacks or self._when_none_given(scope):
            return  # opens one only when it was given none: the caller's unit of work
        if self._inside_session_decorator():
            return  # @provide_session's own wrapper
        if _own_helper(node, owner):
            return  # a class that opens its sessions through its own helper method owns them
        role = function_role(
            function, owner, self.module, self.context.dependencies, self.listeners
        )
        if role in ("an event handler", "middleware", "a unit of work opening its session"):
            return
        qualified = f"{owner.name}.{function.name}" if owner else function.name
        if role is None and (self.module.name, qualified) in self.context.unit_roots:
            role = "started as a unit of its own"  # add_task, Thread(target=), a job
        if sets_request_state(node, function):
            return
        earlier = self.opened_in.setdefault(id(function), [])
        in_hand = None if _rebinds_unset_parameter(function, node) else session_in_hand(scope)
        if in_hand is None and self.open_withs:
            in_hand = f"it is inside the session opened at line {self.open_withs[-1]}"
        if in_hand is None and earlier:
            in_hand = f"it already opened one at line {earlier[0]}"
        if id(node) not in self.in_with:
            earlier.append(node.lineno)
        if in_hand is not None:
            self._report(node, "SCN001", f"{what}, but {in_hand}")
            return
        if role is not None or self.context.path_role is not None:
            return
        if self.context.config.is_root(self.module.name):
            return
        self._report(node, "SCN003", f"{what}, where the work is done")

    def _from_task_registry(self, node: ast.Call, registry: Value, how: str) -> None:
        """A session taken from a task-keyed registry while another is in hand: one finding a
        function and registry, unless the registry's session is what requests are handed."""
        if self.context.path_role in SILENT_PATHS or not self.functions or self.lambdas:
            return
        function, _, scope = self.functions[-1]
        key = (id(function), site(registry))
        if key in self.registries_used:
            return
        in_hand = session_in_hand(scope)
        if in_hand is None and self.open_withs:
            in_hand = f"it is inside the session opened at line {self.open_withs[-1]}"
        if in_hand is None and self.opened_in.get(id(function)):
            in_hand = f"it already opened one at line {self.opened_in[id(function)][0]}"
        if in_hand is None or "the current session of" in in_hand:
            return  # nothing else in hand, or what is in hand came from a registry
        self.registries_used.add(key)
        if handed_out(self.project, registry):
            return  # the request's own session comes from this registry: likely the same one
        self._report(
            node,
            "SCN001",
            f"{how}, a registry keyed to the task ({registry.origin}), but {in_hand}: the "
            "registry's session is another one, and every task asyncio.gather or create_task "
            "starts gets one more",
        )

    def _when_none_given(self, scope: Scope) -> bool:
        """Inside `if session is None:` / `if not self._session:`: a session is opened only
        when the caller gave none. Not when the function was given one in a parameter and
        tests something else (`if self._shared is None: self._shared = maker()`): that opens
        a second session next to the parameter's, and caches it."""
        parameters_in_hand = _session_parameters(scope)
        for test in self.tests:
            for tested in _absent(test):
                value = scope.value(tested)
                text = ast.unparse(tested).lower()
                if not (
                    (value is not None and value.what is What.SESSION)
                    or text.endswith(("session", "db"))
                ):
                    continue
                if not parameters_in_hand or ast.unparse(tested) in parameters_in_hand:
                    return True
        return False

    def _inside_session_decorator(self) -> bool:
        for outer, owner, _ in self.functions[:-1]:
            if self.project.function_value(self.module, outer, owner).what is What.DECORATOR:
                return True
        return False

    def _injected(self, node: ast.Call, callee: Value) -> None:
        """A function wrapped by a session decorator, called without a session from code that
        has one: the decorator opens a second, nested session."""
        if self.context.path_role in SILENT_PATHS or not self.functions:
            return
        _, _, scope = self.functions[-1]
        in_hand = session_in_hand(scope)
        if in_hand is None:
            return
        text = ast.unparse(node.func)
        self._report(
            node,
            "SCN001",
            f"calls {text}() without passing its session, so {callee.origin} opens a new one, "
            f"but {in_hand}",
        )

    def _report(self, node: ast.Call, code: str, reason: str) -> None:
        self.findings.append(
            LintFinding(
                self.module.path,
                node.lineno,
                code,
                reason,
                column=node.col_offset + 1,
                end_line=node.end_lineno or node.lineno,
            )
        )


def _rebinds_unset_parameter(function: Function, call: ast.Call) -> bool:
    """`def f(session: Session | None = None): with Session(engine) as session:`: the opened
    session takes the parameter's name, so the parameter is never used; nothing is in hand
    unless a caller passes one, which the call graph judges."""
    bound: set[str] = set()
    for node in own_nodes(function):
        if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            if any(n is call for n in ast.walk(node.context_expr)):
                bound.add(node.optional_vars.id)
        elif isinstance(node, ast.Assign) and any(n is call for n in ast.walk(node.value)):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for argument in parameters(function):
        default = default_of(function, argument)
        if argument.arg in bound and isinstance(default, ast.Constant) and default.value is None:
            return True
    return False


def _session_parameters(scope: Scope) -> set[str]:
    """The names of this function's parameters that hold a session."""
    names: set[str] = set()
    for name, bindings in scope.local_names().items():
        if any(isinstance(b, ast.arg) for b in bindings):
            value = scope.lookup(name)
            if value is not None and value.what is What.SESSION:
                names.add(name)
    return names


def _own_helper(node: ast.Call, owner: ast.ClassDef | None) -> bool:
    """`self.session()` where `session` is a method of this very class."""
    func = node.func
    if owner is None or not isinstance(func, ast.Attribute):
        return False
    if not (isinstance(func.value, ast.Name) and func.value.id in ("self", "cls")):
        return False
    return any(
        isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == func.attr
        for s in owner.body
    )


def _absent(test: ast.expr) -> list[ast.expr]:
    """The expressions a condition tests for absence: `not x`, `x is None`."""
    found: list[ast.expr] = []
    for node in ast.walk(test):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.append(node.operand)
        elif isinstance(node, ast.Compare) and any(
            isinstance(c, ast.Constant) and c.value is None for c in node.comparators
        ):
            found.append(node.left)
    return [f for f in found if isinstance(f, ast.Name | ast.Attribute)]


def _tests_absence(test: ast.expr, name: str) -> bool:
    """`not name`, `name is None`, `name == None` (also inside `and` / `or`)."""
    for node in ast.walk(test):
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.Not)
            and isinstance(node.operand, ast.Name)
            and node.operand.id == name
        ):
            return True
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Name)
            and node.left.id == name
            and any(isinstance(c, ast.Constant) and c.value is None for c in node.comparators)
        ):
            return True
    return False


def _passes_session(project: Project, callee: Value, node: ast.Call) -> bool:
    """Whether a call to a decorated function passes its session (by keyword or position)."""
    assert callee.ref is not None
    try:
        module, function, owner = project.function_at(callee.ref)
    except KeyError:
        return True
    scope = Scope(project, module, function=function, parent=Scope(project, module), owner=owner)
    positional = [*function.args.posonlyargs, *function.args.args]
    if owner is not None and positional:
        positional = positional[1:]
    names = {"session", "db", "db_session"}
    for argument in parameters(function):
        typed = scope.annotation(argument.annotation)
        if typed is not None and typed.what is What.SESSION:
            names.add(argument.arg)
    if any(k.arg in names or k.arg is None for k in node.keywords):
        return True
    for index, argument in enumerate(positional):
        if argument.arg in names:
            return len(node.args) > index or any(isinstance(a, ast.Starred) for a in node.args)
    return False
