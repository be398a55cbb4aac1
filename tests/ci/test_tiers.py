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
        "markers =\n    slow(reason): slow\n    postgres: a server\n"
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
        "test_uses.py::test_through_a_matrix",
        "test_uses.py::test_inner_pytest",
        "test_uses.py::test_said_so",
    }
