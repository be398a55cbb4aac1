"""Sessions: the scenario matrix (default), one matrix cell, the tests, lint, and benchmarks.

`nox` runs the matrix; `nox -s tests` the test suite; `nox -l` lists every session.
Postgres comes from HARNESS_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["matrix"]
nox.options.download_python = "never"

PYPROJECT = nox.project.load_toml("pyproject.toml")
WIRINGS = [
    "two_sessions",
    "shared_session",
    "commit_in_save",
    "unit_of_work",
    "commit_in_dependency",
    "commit_before_response",
]
DATABASES = ["sqlite", "postgresql"]


def install(session: nox.Session, *groups: str) -> None:
    """The project (editable) and the named dependency groups, from pyproject.toml only."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, *groups))


@nox.session
def matrix(session: nox.Session) -> None:
    """Run every scenario on every wiring x SQLite and Postgres; write reports/matrix.*."""
    install(session)
    session.run(
        "python", "-m", "scenarios", "run", "--quiet", "--reports", "reports", *session.posargs
    )


@nox.session(default=False)
@nox.parametrize(
    ("wiring", "db"),
    [nox.param(w, d, id=f"{w}-{d}", tags=[w, d]) for w in WIRINGS for d in DATABASES],
)
def cell(session: nox.Session, wiring: str, db: str) -> None:
    """Run the scenarios of one wiring on one database and write reports/cell-WIRING-DB/."""
    install(session)
    session.run(
        "python",
        "-m",
        "scenarios",
        "run",
        "--wiring",
        wiring,
        "--db",
        db,
        "--reports",
        f"reports/cell-{wiring}-{db}",
        *session.posargs,
    )


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit, both databases, Hypothesis, the pack) with pytest."""
    install(session, "test")
    session.run("pytest", "--junitxml=reports/junit-tests.xml", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and types: ruff check, ruff format --check, mypy --strict."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmark load, raw-driver baseline, guard, Hypothesis, matrix; write reports/bench.*."""
    install(session, "test")
    session.run("python", "-m", "benchmarks", "--reports", "reports", *session.posargs)
