"""The `slow` marker is given at collection by what a test uses (tests/tiers.py): a test in a new
file is classified without being edited, and `-m "not slow"` (nox -s quick) keeps only the fast.
"""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest
from tests.tiers import mark_slow_tests

pytest_plugins = ["pytester"]


@pytest.fixture
def mariadb_database():
    return None


@pytest.fixture
def postgres_database():
    return "a server"


@pytest.fixture(scope="module")
def zoo_matrix():
    return "a whole matrix"


@pytest.fixture
def report_page(zoo_matrix):
    return zoo_matrix


def pytest_collection_modifyitems(items):
    mark_slow_tests(items)
"""

TESTS = """
import pytest
import scenarios.embedded_postgres


def test_plain():
    pass


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request):
    return request.param


def test_on_each_database(database):
    pass


def test_server(postgres_database):
    pass


def test_mariadb_server(mariadb_database):
    pass


@pytest.mark.mariadb
def test_mariadb_marked():
    pass


def test_through_a_matrix(report_page):
    pass


def test_inner_pytest(pytester):
    pass


@pytest.mark.slow
def test_said_so():
    pass
"""

FAST = """
def test_fast_too():
    pass
"""


def test_only_tests_that_use_nothing_slow_are_left_by_not_slow(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    slow(reason): slow\n    postgres: a server\n    mariadb: a server\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_uses=TESTS.replace("import scenarios.embedded_postgres\n", ""))
    pytester.makepyfile(test_fast=FAST)
    pytester.makepyfile(test_embedded=TESTS.split("\n\n\n")[0] + "\n\n\ndef test_start(): pass\n")
    result = pytester.runpytest_inprocess(
        "-m", "not slow", "--collect-only", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"
    )
    collected = {line.strip() for line in result.outlines if "::" in line}
    assert collected == {
        "test_fast.py::test_fast_too",
        "test_uses.py::test_plain",
        "test_uses.py::test_on_each_database[sqlite]",
    }
    slow = pytester.runpytest_inprocess(
        "-m", "slow", "--collect-only", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"
    )
    assert {line.strip() for line in slow.outlines if "::" in line} == {
        "test_embedded.py::test_start",
        "test_uses.py::test_on_each_database[postgresql]",
        "test_uses.py::test_server",
        "test_uses.py::test_mariadb_server",
        "test_uses.py::test_mariadb_marked",
        "test_uses.py::test_through_a_matrix",
        "test_uses.py::test_inner_pytest",
        "test_uses.py::test_said_so",
    }


# One test per rule added for the quick set's minute (issue 30): each uses the slow thing in its
# code (never run here: the tests are only collected), next to plain tests that do not.
NEW_RULES = """
import pytest
from hypothesis import find

from benchmarks import plugin_start
from benchmarks.load import run_load
from scenarios.routes.run import check_routes


class Block:
    def __init__(self, body):
        self.body = body


SEARCH = Block("from scenarios.stateful import open_machine, search\\nsearch(None, None)\\n")
PRINT = Block("import json\\nprint(json.dumps(1))\\n")


def test_plain_run_of_a_helper_module():
    plugin_start.markdown({})


def test_a_process_through_a_helper_module():
    plugin_start.measure_plugin_start(pairs=1)


def test_the_route_door():
    check_routes(None, "sqlite")


def test_a_load():
    run_load(None, "unit_of_work", None)


def test_a_rare_example():
    find(None, lambda value: value)


@pytest.mark.parametrize("block", [SEARCH, PRINT], ids=["search", "print"])
def test_a_code_block(block):
    exec(block.body)


@pytest.mark.parametrize("case", range(51))
def test_a_big_grid(case):
    pass


@pytest.mark.parametrize("case", range(50))
def test_a_small_grid(case):
    pass
"""


def test_each_new_rule_fires_on_a_test_that_uses_its_thing_and_not_on_a_plain_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    slow(reason): slow\n    postgres: a server\n    mariadb: a server\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_new_rules=NEW_RULES)
    args = ("--collect-only", "-q", "-p", "no:xdist", "-p", "no:cacheprovider")
    fast = pytester.runpytest_inprocess("-m", "not slow", *args)
    collected = {line.strip().partition("::")[2] for line in fast.outlines if "::" in line}
    assert collected == {
        "test_plain_run_of_a_helper_module",
        "test_a_code_block[print]",
        *(f"test_a_small_grid[{case}]" for case in range(50)),
    }
    slow = pytester.runpytest_inprocess("-m", "slow", *args)
    assert {line.strip().partition("::")[2] for line in slow.outlines if "::" in line} == {
        "test_a_process_through_a_helper_module",
        "test_the_route_door",
        "test_a_load",
        "test_a_rare_example",
        "test_a_code_block[search]",
        *(f"test_a_big_grid[{case}]" for case in range(51)),
    }
    items, _ = pytester.inline_genitems("-p", "no:xdist", "-p", "no:cacheprovider")
    reasons = {
        item.name: marker.kwargs["reason"]
        for item in items
        if (marker := item.get_closest_marker("slow")) is not None
    }
    assert reasons["test_a_process_through_a_helper_module"] == "starts a Python process"
    assert reasons["test_the_route_door"] == "runs the route door's Schemathesis generation"
    assert reasons["test_a_load"] == "sends a load of concurrent requests"
    assert reasons["test_a_rare_example"].startswith("has Hypothesis find a rare example")
    assert reasons["test_a_code_block[search]"] == (
        "runs a code block that runs a Hypothesis search of an app"
    )
    assert reasons["test_a_big_grid[0]"] == "one case of a grid of 51 cases of one test"
