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
- starts an embedded PostgreSQL (its module uses `scenarios.embedded_postgres`);
- runs a Hypothesis search of an app (the stateful tests' search settings);
- lives in a folder whose every test is one of the above by construction (FOLDERS).
"""

from __future__ import annotations

import types

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


def _matrix_fixture(name: str) -> bool:
    return name == "matrix" or name.endswith("_matrix") or name.startswith("matrix_")


def _uses_module(item: pytest.Item, module_name: str) -> bool:
    """Whether the test's module imported `module_name` or something from it."""
    module = getattr(item, "module", None)
    if module is None:
        return False
    for value in vars(module).values():
        if isinstance(value, types.ModuleType):
            found = value.__name__
        else:
            found = getattr(value, "__module__", None) or ""
        if found == module_name or found.startswith(module_name + "."):
            return True
    return False


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
    """Whether the run's `-m` expression leaves every slow test out (`-m "not slow"`)."""
    expression = str(config.getoption("markexpr", "") or "")
    if not expression:
        return False
    from _pytest.mark.expression import Expression

    try:
        compiled = Expression.compile(expression)
    except Exception:  # pytest itself reports a bad expression, after configure
        return False
    return not compiled.evaluate(lambda name, **_: name == MARKER)
