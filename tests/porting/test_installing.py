"""Installing next to a team's app: ranges without upper pins, extras that are really optional,
no dependence on SQLAlchemy's default Postgres driver, code that runs on httpx 0.27 and 0.28.

Each is a problem met when a harness was installed into a real app's environment (issue 14:
a RealWorld "Conduit" backend on SQLAlchemy 2.0.36 and httpx 0.27; rhoboro/async-fastapi-
sqlalchemy on SQLAlchemy 2.0.51), checked here on this repository's own files.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from scenarios import cli
from scenarios.case_result import CaseResult
from scenarios.databases import (
    PG_URL_VARIABLE,
    PostgresUnavailable,
    postgres_server_url,
    scratch_postgres,
)
from scenarios.outcomes import Verdict

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirements() -> list[Requirement]:
    listed = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        listed += extra
    return [Requirement(text) for text in listed]


def test_every_dependency_is_a_range_with_a_floor_and_no_upper_pin() -> None:
    for requirement in _requirements():
        if requirement.name == "two-sessions-harness":
            continue
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">="}, f"{requirement}: a floor only, no upper pin"


def test_the_core_needs_neither_postgres_nor_hypothesis_nor_fastapi() -> None:
    core = {Requirement(text).name for text in PROJECT["dependencies"]}
    assert core == {"sqlalchemy", "aiosqlite"}
    extras = PROJECT["optional-dependencies"]
    assert {Requirement(t).name for t in extras["postgresql"]} == {"asyncpg"}
    assert {Requirement(t).name for t in extras["stateful"]} == {"hypothesis"}


def test_the_pytest_plugins_import_no_driver_and_no_hypothesis() -> None:
    """Installed into a team's environment, the plugins load in its suite: they must not pull in
    what the team may not have (and must not break its suite when it is absent)."""
    code = (
        "import sys, scenarios.plugin, scenarios.guard.pytest_plugin, scenarios.toolkit; "
        "print(sorted(m for m in ('hypothesis', 'asyncpg', 'fastapi', 'httpx') "
        "if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert found.stdout.strip() == "[]"


def test_a_bare_postgresql_url_is_given_the_asyncpg_driver(monkeypatch) -> None:
    """SQLAlchemy 2.0 reads `postgresql://` as psycopg2, 2.1 as psycopg: never rely on either."""
    monkeypatch.setenv(PG_URL_VARIABLE, "postgresql://me:secret@db.example:5432/postgres")
    assert postgres_server_url().drivername == "postgresql+asyncpg"
    monkeypatch.setenv(PG_URL_VARIABLE, "postgresql+asyncpg://me@db.example/postgres")
    assert postgres_server_url().drivername == "postgresql+asyncpg"


async def test_without_the_postgresql_extra_the_cells_are_skipped_naming_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(PostgresUnavailable, match=r"two-sessions-harness\[postgresql\]"):
        async with scratch_postgres(postgres_server_url()):
            pass


def test_without_the_stateful_extra_the_matrix_leaves_the_search_out(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "scenarios.stateful", None)
    assert cli.stateful_search(10, Path("reports")) is None
    assert "two-sessions-harness[stateful]" in cli.STATEFUL_WITHOUT_HYPOTHESIS


def test_the_cli_prints_a_flaky_finding_even_when_it_was_expected(capsys) -> None:
    result = CaseResult(
        cli.STATEFUL,
        "search",
        "w",
        "sqlite",
        "lost_write",
        "lost_write",
        Verdict.AS_EXPECTED,
        "lost_write (flaky: Hypothesis could not replay this history the same way) in 2 step(s)",
        0.1,
    )
    cli.progress_printer(quiet=True)(result)  # type: ignore[operator]
    assert "note: w-sqlite-stateful[search]: lost_write (flaky: " in capsys.readouterr().out


CORPUS = REPO_ROOT / "tests" / "lint" / "corpus"


@pytest.mark.slow(reason="parses every Python file of the repository")
def test_no_code_builds_an_httpx_client_with_app_which_httpx_0_28_removed() -> None:
    offenders = []
    for folder in ("scenarios", "reference_app", "examples", "tests", "benchmarks"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if CORPUS in path.parents:
                continue  # the static check's corpus: apps it reads, not code the harness runs
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "attr", getattr(node.func, "id", None))
                    in {"AsyncClient", "Client"}
                    and any(keyword.arg == "app" for keyword in node.keywords)
                ):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_reference_app_without_its_extra_says_which_to_install() -> None:
    code = "import sys; sys.modules['fastapi'] = None; import reference_app"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "needs fastapi" in last
    assert "pip install 'two-sessions-harness[reference]'" in last


async def _asgi_app(scope: object, receive: object, send: object) -> None:
    pass


def test_the_sweep_of_an_asgi_app_without_httpx_is_one_line_naming_it(monkeypatch) -> None:
    from scenarios.sweep.app import ServedApp, UsageError

    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(UsageError, match="through httpx, which is not installed"):
        ServedApp(_asgi_app)
    assert ServedApp(lambda environ, start_response: []).kind == "wsgi"  # WSGI needs no httpx
