"""The shapes real suites showed the flag, as a team's suite of our own run in a pytest of its
own (pytester), each clean shape beside its buggy twin:

- the test's own session handed to the app (`app.dependency_overrides[get_db] = lambda:
  session`, as in SQLModel's tutorial "Testing" chapter, fastapi/sqlmodel
  `docs_src/tutorial/fastapi/app_testing`): a GET after a commit starts a new transaction on
  that session, whose connection stays out until the fixture ends. Not the request's doing: a
  note. Its twin: a service writing in a session of its own beside it, never committed.
- a short session per operation (read the object in one, insert in another that commits
  before the response), the shape of an admin app's views (issue 26): one committing writer
  after a read is clean. Its twin: the inserting session never commits.
- a bulk delete that commits each row in its own session and answers 404 for a missing id
  after deleting the others (issue 26's one true finding there): `split_commit`, a partial
  commit; and the same on a 2xx (two sessions, two commits, one request).
"""

from __future__ import annotations

import json

import pytest

from tests.guard.conftest import line_of

SUITE = """
import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import String, create_engine, delete, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Hero(Base):
    __tablename__ = "heroes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


def get_db():
    raise RuntimeError("overridden in tests")


def make_app(maker, wiring):
    app = FastAPI()

    @app.post("/heroes", status_code=201)
    def create(name: str, db: Session = Depends(get_db)):
        if wiring == "own_session":
            own = sessionmaker(bind=db.get_bind())()  # site: service own session
            own.add(Hero(name=name + " (audit)"))
            own.flush()
            own.close()
        db.add(Hero(name=name))
        db.commit()
        return {"name": name}

    @app.get("/heroes")
    def read(db: Session = Depends(get_db)):
        return [h.name for h in db.scalars(select(Hero))]

    @app.post("/short/{hero_id}", status_code=201)
    def short(hero_id: int, name: str):
        with maker() as reading:
            if reading.get(Hero, hero_id) is None:
                raise HTTPException(404)
        writing = maker()  # site: short writer
        writing.add(Hero(name=name))
        writing.flush()
        if wiring != "uncommitted_writer":
            writing.commit()
        writing.close()
        return {"name": name}

    @app.delete("/heroes")
    def bulk_delete(ids: str):
        for hero_id in map(int, ids.split(",")):
            with maker() as one:  # site: one session per row
                if one.get(Hero, hero_id) is None:
                    raise HTTPException(404)
                one.execute(delete(Hero).where(Hero.id == hero_id))
                one.commit()
        return {"deleted": ids}

    return app


@pytest.fixture
def maker(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'heroes.sqlite3'}")
    Base.metadata.create_all(engine)
    maker = sessionmaker(engine)
    with maker() as seeding:
        seeding.add_all([Hero(name="a"), Hero(name="b"), Hero(name="c")])
        seeding.commit()
    yield maker
    engine.dispose()


def client_on_fixture_session(maker, wiring):
    session = maker()
    app = make_app(maker, wiring)
    app.dependency_overrides[get_db] = lambda: session
    return session, TestClient(app)


def test_fixture_session_clean(maker):
    session, client = client_on_fixture_session(maker, "clean")
    assert client.post("/heroes", params={"name": "d"}).status_code == 201
    assert "d" in client.get("/heroes").json()
    session.close()


def test_fixture_session_buggy(maker):
    session, client = client_on_fixture_session(maker, "own_session")
    assert client.post("/heroes", params={"name": "d"}).status_code == 201
    session.close()


def test_read_then_one_committing_writer_clean(maker):
    client = TestClient(make_app(maker, "clean"))
    assert client.post("/short/1", params={"name": "d"}).status_code == 201


def test_read_then_one_writer_never_committed_buggy(maker):
    client = TestClient(make_app(maker, "uncommitted_writer"))
    assert client.post("/short/1", params={"name": "d"}).status_code == 201


def test_bulk_delete_missing_id_is_a_partial_commit(maker):
    client = TestClient(make_app(maker, "clean"))
    assert client.delete("/heroes", params={"ids": "1,2,99"}).status_code == 404


def test_bulk_delete_of_two_rows_is_two_transactions(maker):
    client = TestClient(make_app(maker, "clean"))
    assert client.delete("/heroes", params={"ids": "1,2"}).status_code == 200
"""


@pytest.fixture
def sites(pytester: pytest.Pytester) -> dict[str, str]:
    path = pytester.makepyfile(test_heroes=SUITE)
    return {
        tag: f"test_heroes.py:{line_of(path, f'# site: {tag}')}"
        for tag in ("service own session", "short writer", "one session per row")
    }


def _findings(document: dict[str, object]) -> dict[str, set[tuple[str, str | None, bool]]]:
    tests = document["tests"]
    assert isinstance(tests, list)
    return {
        t["test"].split("::")[1]: {(f["kind"], f["site"], f["fails"]) for f in t["findings"]}
        for t in tests
    }


def test_strict_fails_the_buggy_twins_and_the_partial_commit_never_a_clean_shape(
    pytester: pytest.Pytester, sites: dict[str, str]
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--session-guard=strict", "--session-guard-report=guard.json"
    )
    result.assert_outcomes(passed=2, failed=4)
    failed = {line.split("::")[1].split(" ")[0] for line in result.outlines if "FAILED" in line}
    assert failed == {
        "test_fixture_session_buggy",
        "test_read_then_one_writer_never_committed_buggy",
        "test_bulk_delete_missing_id_is_a_partial_commit",
        "test_bulk_delete_of_two_rows_is_two_transactions",
    }
    found = _findings(json.loads((pytester.path / "guard.json").read_text()))
    own, writer, row = (
        sites["service own session"],
        sites["short writer"],
        sites["one session per row"],
    )
    # The fixture's session: its connection held past each request is a note, never a finding.
    assert all(
        kind == "leaked_connection" and not fails
        for kind, _, fails in found.get("test_fixture_session_clean", set())
    )
    assert {("extra_session", own, True), ("acknowledged_not_saved", own, True)} <= found[
        "test_fixture_session_buggy"
    ]
    # The session that only read is a note.
    assert {kind for kind, _, _ in found["test_read_then_one_committing_writer_clean"]} == {
        "read_only_session"
    }
    assert not any(fails for _, _, fails in found["test_read_then_one_committing_writer_clean"])
    assert {("extra_session", writer, True), ("acknowledged_not_saved", writer, True)} <= found[
        "test_read_then_one_writer_never_committed_buggy"
    ]
    assert ("split_commit", row, True) in found["test_bulk_delete_missing_id_is_a_partial_commit"]
    assert found["test_bulk_delete_of_two_rows_is_two_transactions"] == {
        ("split_commit", row, True)
    }
    result.stdout.fnmatch_lines(
        [
            "*the response was 404: part of the request's writes are committed (a partial commit)*",
        ]
    )


def test_strict_rules_and_acknowledgements_from_the_ini_and_the_inline_marker(
    pytester: pytest.Pytester, sites: dict[str, str]
) -> None:
    source = pytester.path / "test_heroes.py"
    source.write_text(
        source.read_text().replace(
            "# site: short writer",
            "# site: short writer  # scenarios: allow-session -- the job table is its own",
        )
    )
    pytester.makeini(
        "[pytest]\n"
        "session_guard = strict\n"
        "session_guard_strict = acknowledged_not_saved split_commit\n"
        "session_guard_allow =\n"
        "    split_commit DELETE /heroes -- each row is independent, by design\n"
        f"    {sites['service own session']} -- audit copies may be lost\n"
        "    lost_write -- background jobs retry\n"
        "    POST /nowhere -- an old route\n"
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--session-guard-report=guard.json"
    )
    # Every finding of a strict rule is acknowledged: nothing fails.
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "*[[]acknowledged[]] split_commit at *, DELETE /heroes: 2x in 2 tests*"
            "(acknowledged: each row is independent, by design)*",
            "unused allowlist entry (tox.ini session_guard_allow): lost_write -- background*",
            "unused allowlist entry (tox.ini session_guard_allow): POST /nowhere -- an old route",
        ]
    )
    document = json.loads((pytester.path / "guard.json").read_text())
    assert document["strict_rules"] == ["acknowledged_not_saved", "split_commit"]
    reasons = {
        f["acknowledged"]["reason"]
        for t in document["tests"]
        for f in t["findings"]
        if f["acknowledged"]
    }
    assert reasons == {
        "each row is independent, by design",
        "audit copies may be lost",
        "the job table is its own",
    }
    assert not any(f["fails"] for t in document["tests"] for f in t["findings"])


def test_the_flag_value_chooses_the_strict_rules(
    pytester: pytest.Pytester, sites: dict[str, str]
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--session-guard", "strict:extra_session"
    )
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(["*FAILED test_heroes.py::test_fixture_session_buggy*"])


@pytest.mark.parametrize(
    ("ini", "error"),
    [
        ("session_guard_allow = split_commit", "has no reason"),
        ("session_guard_allow = app.py -- why", "is neither a rule, a path:line nor a route"),
        ("session_guard_strict = lost_writes", "unknown rule 'lost_writes'"),
    ],
)
def test_bad_strictness_or_allowlist_is_one_line_and_exit_2(
    pytester: pytest.Pytester, sites: dict[str, str], ini: str, error: str
) -> None:
    pytester.makeini(f"[pytest]\nsession_guard = strict\n{ini}\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 2
    result.stderr.fnmatch_lines([f"*session guard: *{error}*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


FLASK_SUITE = '''
"""A Flask-SQLAlchemy app whose test holds an app context around its client (the shape of
mjhea0/flaskr-tdd's `client` fixture): Flask runs each request in the test's context, so
`db.session` ends when the test's context does, not the request."""
import pytest
from flask import Flask, redirect, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

db = SQLAlchemy()


class Entry(db.Model):
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(20))


def make_app(path, buggy):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    db.init_app(app)

    @app.get("/")
    def index():
        return {"entries": db.session.scalar(select(func.count()).select_from(Entry))}

    @app.post("/add")
    def add():
        if buggy:
            own = Session(db.engine)  # site: flask own session
            own.add(Entry(title=request.form["title"]))
            own.flush()
            own.close()
        else:
            db.session.add(Entry(title=request.form["title"]))
        db.session.commit()
        return redirect("/")

    return app


@pytest.fixture(params=[False, True], ids=["clean", "buggy"])
def client(request, tmp_path):
    app = make_app(tmp_path / "entries.sqlite3", request.param)
    with app.app_context():
        db.create_all()
        yield app.test_client()
        db.drop_all()


def test_index_then_add(client):
    assert client.get("/").status_code == 200
    assert client.post("/add", data={"title": "a"}).status_code == 302
    assert client.get("/").status_code == 200
'''


def test_a_session_scoped_to_the_tests_flask_app_context_is_a_note(
    pytester: pytest.Pytester,
) -> None:
    path = pytester.makepyfile(test_entries=FLASK_SUITE)
    own = f"test_entries.py:{line_of(path, '# site: flask own session')}"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--session-guard=strict", "--session-guard-report=guard.json"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_entries.py::test_index_then_add[[]buggy[]]*"])
    found = _findings(json.loads((pytester.path / "guard.json").read_text()))
    clean = found["test_index_then_add[clean]"]
    # Each GET's `db.session` keeps its connection until the test's app context ends.
    assert {(kind, fails) for kind, _, fails in clean} == {("leaked_connection", False)}
    document = json.loads((pytester.path / "guard.json").read_text())
    assert document["findings_by_kind"] == {"acknowledged_not_saved": 1}
    assert ("acknowledged_not_saved", own, True) in found["test_index_then_add[buggy]"]
