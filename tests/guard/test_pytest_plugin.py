"""The guard's pytest fixture and marker, run in a pytest of their own (pytester), as a team
would use them in its suite; and a suite without the plugin still collects."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.guard.conftest import line_of

PROJECT = Path(__file__).parents[2]

APP = """
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker


@pytest.fixture
def maker(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    try:
        yield sessionmaker(engine)
    finally:
        engine.dispose()


SECOND = next(  # where the line that opens the second session is
    n for n, line in enumerate(open(__file__).read().splitlines(), 1)
    if line.endswith("# the second session")
)


def two_sessions(maker):
    with maker() as db:
        db.execute(text("SELECT 1"))
        with maker() as own:  # the second session
            own.execute(text("INSERT INTO notes (body) VALUES ('lost')"))
"""


def test_the_entry_point_registers_the_plugin(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("session_guard"), (
        "the two_sessions_harness pytest11 entry point is missing: pip install -e . again"
    )


def test_marked_test_fails_with_the_line_of_the_second_session(pytester: pytest.Pytester) -> None:
    path = pytester.makepyfile(
        test_app=APP
        + """

@pytest.mark.session_guard
def test_checkout(maker):
    two_sessions(maker)


def test_unmarked(maker):
    two_sessions(maker)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    second = line_of(path, "as own:  # the second session")
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_checkout*",
            "*SessionGuardError: session guard (test_app.py::test_checkout): 2 sessions in one "
            f"test; the second opened at test_app.py:{second}*",
        ]
    )


def test_collect_mode_hands_the_findings_to_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app=APP
        + """

@pytest.mark.session_guard(mode="collect")
def test_checkout(maker, session_guard):
    two_sessions(maker)
    assert [f.kind.value for f in session_guard.findings] == [
        "extra_session", "extra_connection", "lost_write"
    ]
    assert session_guard.notes == ()
    assert session_guard.findings[0].site == f"test_app.py:{SECOND}"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_fixture_watches_an_async_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    path = pytester.makepyfile(
        test_async="""
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


async def test_request(tmp_path, session_guard):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.sqlite3'}")
    try:
        maker = async_sessionmaker(engine)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
        async with maker() as db:
            await db.execute(text("SELECT 1"))
            async with maker() as own:  # the second session
                await own.execute(text("INSERT INTO notes DEFAULT VALUES"))
    finally:
        await engine.dispose()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    second = line_of(path, "as own:  # the second session")
    result.stdout.fnmatch_lines(
        [f"*2 sessions in one test; the second opened at test_async.py:{second}*"]
    )


def test_a_suite_without_the_plugin_still_collects_marked_tests(
    pytester: pytest.Pytester,
) -> None:
    """With the entry point missing, the project's own marker list keeps strict markers happy."""
    markers = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["pytest"]["markers"]
    pytester.makeini(
        "[pytest]\nstrict_markers = true\nmarkers =\n" + "".join(f"    {m}\n" for m in markers)
    )
    pytester.makepyfile(
        test_app="""
import pytest

@pytest.mark.session_guard
def test_marked():
    pass

def test_other():
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:session_guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


ACKNOWLEDGED = """
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker


@pytest.fixture
def maker(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    try:
        yield sessionmaker(engine)
    finally:
        engine.dispose()


def lose_a_write(maker, acknowledged):
    with maker() as db:
        db.execute(text("SELECT 1"))
        if acknowledged:
            own = maker()  # scenarios: allow-session -- a scratch session, on purpose
        else:
            own = maker()
        own.execute(text("INSERT INTO notes (body) VALUES ('lost')"))
        own.close()


@pytest.mark.session_guard(rules="extra_session,lost_write")
def test_acknowledged_inline(maker):
    lose_a_write(maker, True)


@pytest.mark.session_guard(rules="extra_session,lost_write")
def test_not_acknowledged(maker):
    lose_a_write(maker, False)


@pytest.mark.session_guard(rules=["leaked_connection"])
def test_other_rules_do_not_fail(maker):
    lose_a_write(maker, False)


@pytest.mark.session_guard(rules="lost_writes")
def test_unknown_rule(maker):
    pass
"""


def test_the_marker_chooses_the_rules_and_an_inline_marker_acknowledges(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_app=ACKNOWLEDGED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_not_acknowledged*",
            "*SessionGuardError: session guard (test_app.py::test_not_acknowledged): 2 sessions*",
            "*ERROR at setup of test_unknown_rule*",
        ]
    )
    result.stdout.fnmatch_lines(["*session_guard marker: unknown rule 'lost_writes'*"])
