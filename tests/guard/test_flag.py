"""`pytest --session-guard` on a suite that knows nothing of the guard, run in a pytest of its
own (pytester): report mode keeps the result and prints a summary, strict mode fails exactly
the test whose request lost data, with file:line; JSON for CI; the ini option; bad input."""

from __future__ import annotations

import json

import pytest

from tests.guard.conftest import line_of

SUITE = '''
"""A team's suite: a FastAPI app with sync SQLAlchemy (the tutorial's shape), a fixture that
seeds with its own session, TestClient requests, a read-back after the request."""
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


def make_app(maker, buggy):
    app = FastAPI()

    def get_db():
        db = maker()
        try:
            yield db
        finally:
            db.close()

    class ItemService:
        def add(self, db, name):
            if buggy:
                own = maker()  # the service's own session
                own.add(Item(name=name))
                own.flush()
                own.close()
            else:
                db.add(Item(name=name))

    @app.post("/items", status_code=201)
    def create(name: str, db: Session = Depends(get_db)):
        db.scalar(select(func.count()).select_from(Item))
        ItemService().add(db, name)
        db.commit()
        return {"name": name}

    return app


@pytest.fixture
def maker(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'items.sqlite3'}")
    Base.metadata.create_all(engine)
    maker = sessionmaker(engine)
    with maker() as seeding:  # the test's own session: never counted
        seeding.add(Item(name="seeded"))
        seeding.commit()
    yield maker
    engine.dispose()


def stored(maker):
    with maker() as reading:
        return reading.scalar(select(func.count()).select_from(Item))


def test_clean(maker):
    with TestClient(make_app(maker, buggy=False)) as client:
        assert client.post("/items", params={"name": "a"}).status_code == 201
    assert stored(maker) == 2


def test_buggy(maker):
    with TestClient(make_app(maker, buggy=True)) as client:
        assert client.post("/items", params={"name": "a"}).status_code == 201


def test_no_request():
    pass
'''


@pytest.fixture
def suite(pytester: pytest.Pytester) -> int:
    """The suite's file; returns the line where the buggy service opens its session."""
    path = pytester.makepyfile(test_items=SUITE)
    return line_of(path, "own = maker()  # the service's own session")


def test_report_mode_keeps_the_result_and_summarises(pytester: pytest.Pytester, suite: int) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--session-guard")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*= session guard =*",
            "2 requests watched; 1 tests with findings (*extra_session: 1*), "
            "not failed (report mode)",
            f"[[]finding[]] extra_session at test_items.py:{suite}, POST /items: 1x in 1 test "
            f"(test_items.py::test_buggy): 2 sessions did work in one request: the second was "
            f"opened at test_items.py:{suite} (route POST /items)*",
        ]
    )
    assert "test_clean" not in result.stdout.str().split("= session guard =")[1]


def test_strict_mode_fails_only_the_test_whose_request_lost_data(
    pytester: pytest.Pytester, suite: int
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--session-guard=strict", "--session-guard-report=guard.json"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*session guard (strict): 2 finding(s) in this test's requests",
            f"*acknowledged_not_saved: acknowledged but not saved: the response was 201, yet 1 row "
            f"(items: 1) written by the session opened at test_items.py:{suite}*",
            "FAILED test_items.py::test_buggy*",
        ]
    )
    document = json.loads((pytester.path / "guard.json").read_text())
    assert document["mode"] == "strict"
    assert document["requests"] == 2
    assert document["tests_with_findings"] == ["test_items.py::test_buggy"]
    assert document["findings_by_kind"] == {
        "acknowledged_not_saved": 1,
        "extra_connection": 1,
        "extra_session": 1,
    }
    (test,) = document["tests"]
    assert {f["site"] for f in test["findings"]} >= {f"test_items.py:{suite}"}


def test_the_ini_option_turns_strict_mode_on(pytester: pytest.Pytester, suite: int) -> None:
    pytester.makeini("[pytest]\nsession_guard = strict\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)


def test_a_path_after_the_bare_flag_is_a_path(pytester: pytest.Pytester, suite: int) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--session-guard", "test_items.py", "-k", "clean or buggy"
    )
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(["2 requests watched; 1 tests with findings*"])


def test_without_the_flag_nothing_is_watched(pytester: pytest.Pytester, suite: int) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert "session guard" not in result.stdout.str()


def test_an_unknown_mode_is_one_line_and_exit_2(pytester: pytest.Pytester, suite: int) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--session-guard=loud")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*session guard: unknown mode 'loud'; use report or strict*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_client_created_when_a_conftest_is_imported_is_watched(
    pytester: pytest.Pytester,
) -> None:
    """Initial conftest.py files are imported before pytest configures its plugins."""
    pytester.makeconftest(
        SUITE.split("@pytest.fixture")[0]
        + """
import tempfile
from pathlib import Path

FOLDER = Path(tempfile.mkdtemp())
ENGINE = create_engine(f"sqlite:///{FOLDER / 'items.sqlite3'}")
Base.metadata.create_all(ENGINE)
CLIENT = TestClient(make_app(sessionmaker(ENGINE), buggy=True))  # at import of conftest.py
"""
    )
    pytester.makepyfile(
        test_module_client="""
from conftest import CLIENT


def test_buggy_through_a_module_level_client():
    assert CLIENT.post("/items", params={"name": "a"}).status_code == 201
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--session-guard=strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["1 requests watched; 1 tests with findings*"])
