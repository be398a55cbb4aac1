"""Bad input to the harness itself (issue 20): every row is one environment variable, flag or
configuration key with a malformed, out-of-range or unreachable value. Each must end in exit
status 2 and one line on stderr naming the input, with no traceback, no report folder and no
scratch database left on the server.

Rows run in-process (the real `main` of each command, with its real checks) to keep the table
cheap; the three inputs the issue names also run through the real interpreter below. A new input
joins the table as a new row.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from benchmarks.bench import main as bench_main
from scenarios.cli import main as run_main
from scenarios.databases import PostgresUnavailable, postgres_server_url
from scenarios.inputs import postgres_answers
from scenarios.lint.__main__ import main as lint_main

TARGET = "reference_app.adapter:TARGET"
SECRET = "pa55word-not-shown"


@dataclass(frozen=True)
class Row:
    id: str
    command: str  # run, sweep, lint, bench, pytest
    args: Sequence[str]
    names: str  # what the one line must name
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None  # a project folder made by the `workspace` fixture


SWEEP_FACTORY = ["--app-factory", "examples.sweep_factories:commit_in_save"]
# Braces doubled: a row's arguments go through str.format().
SWEEP_REQUEST = [
    "--request",
    'POST /sessions/6f1c0d5e-0000-4000-8000-000000000001/messages {{"content": "hi"}}',
]
SWEEP = ["--db", "sqlite", *SWEEP_REQUEST]

ROWS = [
    # environment variables
    Row("pg-url-not-a-url", "run", [], "HARNESS_PG_URL", {"HARNESS_PG_URL": "not a url"}),
    Row("pg-url-wrong-driver", "run", [], "HARNESS_PG_URL", {"HARNESS_PG_URL": "mysql://r@h/t"}),
    Row(
        "pg-url-port-out-of-range",
        "run",
        [],
        "HARNESS_PG_URL",
        {"HARNESS_PG_URL": f"postgresql+asyncpg://u:{SECRET}@127.0.0.1:99999/postgres"},
    ),
    Row(
        "pg-url-unreachable-under-ci",
        "run",
        [],
        "PostgreSQL",
        {"HARNESS_PG_URL": f"postgresql+asyncpg://u:{SECRET}@127.0.0.1:1/postgres", "CI": "1"},
    ),
    Row("sqlite-dir-missing", "run", [], "HARNESS_SQLITE_DIR", {"HARNESS_SQLITE_DIR": "{tmp}/no"}),
    Row("sqlite-dir-a-file", "run", [], "HARNESS_SQLITE_DIR", {"HARNESS_SQLITE_DIR": "{file}"}),
    Row("sqlite-dir-unwritable", "run", [], "HARNESS_SQLITE_DIR", {"HARNESS_SQLITE_DIR": "/proc"}),
    Row(
        "hypothesis-profile-unknown",
        "run",
        [],
        "HARNESS_HYPOTHESIS_PROFILE",
        {"HARNESS_HYPOTHESIS_PROFILE": "thorough"},
    ),
    Row(
        "hypothesis-db-under-a-file",
        "run",
        [],
        "HARNESS_HYPOTHESIS_DB",
        {"HARNESS_HYPOTHESIS_DB": "{file}/examples"},
    ),
    Row(
        "hypothesis-db-unwritable",
        "run",
        [],
        "HARNESS_HYPOTHESIS_DB",
        {"HARNESS_HYPOTHESIS_DB": "/proc/harness-examples"},
    ),
    Row("load-requests-word", "bench", [], "HARNESS_LOAD_REQUESTS", {"HARNESS_LOAD_REQUESTS": "x"}),
    Row("load-requests-zero", "bench", [], "HARNESS_LOAD_REQUESTS", {"HARNESS_LOAD_REQUESTS": "0"}),
    Row(
        "load-requests-huge",
        "bench",
        [],
        "HARNESS_LOAD_REQUESTS",
        {"HARNESS_LOAD_REQUESTS": "1000000000"},
    ),
    Row(
        "load-sessions-negative",
        "bench",
        [],
        "HARNESS_LOAD_SESSIONS",
        {"HARNESS_LOAD_SESSIONS": "-3"},
    ),
    Row(
        "load-sessions-fraction",
        "bench",
        [],
        "HARNESS_LOAD_SESSIONS",
        {"HARNESS_LOAD_SESSIONS": "1.5"},
    ),
    # `python -m scenarios run` flags (what `nox -- ...` passes on)
    Row("run-wiring-unknown", "run", ["--wiring", "three_sessions"], "wiring"),
    Row("run-db-unknown", "run", ["--db", "oracle"], "database"),
    Row("run-target-not-importable", "run", ["--target", "nowhere.module:TARGET"], "nowhere"),
    Row("run-target-no-attribute", "run", ["--target", "reference_app.adapter:NOPE"], "NOPE"),
    Row("run-target-malformed", "run", ["--target", "reference_app.adapter"], "target"),
    Row("run-pack-missing", "run", ["--pack", "{tmp}/no-such-pack"], "--pack"),
    Row("run-pack-not-toml", "run", ["--pack", "{bad_toml}"], "bad.toml"),
    Row("run-pack-bad-scenario", "run", ["--pack", "{bad_scenario}"], "scenario.toml"),
    Row("run-reports-under-a-file", "run", ["--reports", "{file}/reports"], "--reports"),
    Row("run-reports-unwritable", "run", ["--reports", "/proc/harness-reports"], "--reports"),
    Row("run-stateful-examples-negative", "run", ["--stateful-examples", "-1"], "--stateful"),
    Row("run-stateful-examples-word", "run", ["--stateful-examples", "lots"], "--stateful"),
    Row("run-keyword-matches-nothing", "run", ["-k", "no-such-scenario"], "no-such-scenario"),
    Row("run-unknown-flag", "run", ["--frobnicate"], "--frobnicate"),
    # configuration
    Row("tool-scenarios-not-toml", "run", ["--notarget"], "pyproject.toml", cwd="not_toml"),
    Row("tool-scenarios-unknown-key", "run", ["--notarget"], "tagret", cwd="unknown_key"),
    Row("tool-scenarios-target-not-string", "run", ["--notarget"], "target", cwd="target_int"),
    Row(
        "expected-outcomes-unknown-outcome",
        "run",
        ["--target", "bad_outcome_target:TARGET"],
        "bad_outcomes.toml",
    ),
    Row(
        "expected-outcomes-not-toml",
        "run",
        ["--target", "bad_toml_target:TARGET"],
        "bad_syntax.toml",
    ),
    # the lint
    Row("lint-path-missing", "lint", ["{tmp}/no-such-code"], "no-such-code"),
    Row("lint-config-missing", "lint", ["--config", "{tmp}/none.toml", "{tmp}"], "none.toml"),
    Row("lint-config-unknown-key", "lint", ["--config", "{lint_config}", "{tmp}"], "composition"),
    Row("lint-unknown-flag", "lint", ["--frobnicate", "{tmp}"], "--frobnicate"),
    # the benchmarks
    Row("bench-requests-zero", "bench", ["--requests", "0"], "--requests"),
    Row("bench-reports-under-a-file", "bench", ["--reports", "{file}/reports"], "--reports"),
    # the pytest plugin's options
    Row("pytest-target-missing", "pytest", ["--scenario-target=nowhere:TARGET"], "nowhere"),
    Row("pytest-wiring-unknown", "pytest", ["--scenario-wiring=three"], "--scenario-wiring"),
    Row("pytest-db-unknown", "pytest", ["--scenario-db=oracle"], "--scenario-db"),
    Row("pytest-pack-missing", "pytest", ["--scenario-pack={tmp}/none"], "--scenario-pack"),
    Row(
        "pytest-reports-under-a-file",
        "pytest",
        ["--scenario-reports={file}/r"],
        "--scenario-reports",
    ),
    Row("pytest-pg-url", "pytest", [], "HARNESS_PG_URL", {"HARNESS_PG_URL": "not a url"}),
    # python -m scenarios sweep (its --reports defaults to the row's own folder)
    Row("sweep-factory-malformed", "sweep", ["--app-factory", "nocolon", *SWEEP], "--app-factory"),
    Row(
        "sweep-factory-unimportable",
        "sweep",
        ["--app-factory", "no_such_module:app", *SWEEP],
        "--app-factory",
    ),
    Row("sweep-db-unknown", "sweep", [*SWEEP_FACTORY, "--db", "mysql", *SWEEP_REQUEST], "--db"),
    Row(
        "sweep-request-malformed",
        "sweep",
        [*SWEEP_FACTORY, "--db", "sqlite", "--request", "FETCH"],
        "--request",
    ),
    Row(
        "sweep-request-body-not-json",
        "sweep",
        [*SWEEP_FACTORY, "--db", "sqlite", "--request", "POST /x {{not json"],
        "--request",
    ),
    Row(
        "sweep-max-boundaries-not-a-number",
        "sweep",
        [*SWEEP_FACTORY, *SWEEP, "--max-boundaries", "abc"],
        "--max-boundaries",
    ),
    Row(
        "sweep-max-boundaries-zero",
        "sweep",
        [*SWEEP_FACTORY, *SWEEP, "--max-boundaries", "0"],
        "--max-boundaries",
    ),
    Row(
        "sweep-reports-unwritable",
        "sweep",
        [*SWEEP_FACTORY, *SWEEP, "--reports", "/proc/x"],
        "--reports",
    ),
    # the session guard's pytest flag
    Row("pytest-session-guard-mode", "pytest", ["--session-guard=sometimes"], "session guard"),
]

BAD_OUTCOMES = '[two_sessions.postgresql]\ndefault = "exploded"\n'
TARGET_MODULE = """
from pathlib import Path
from reference_app.adapter import ReferenceTargetFactory
TARGET = ReferenceTargetFactory(Path(__file__).with_name("{toml}"))
"""
BAD_SCENARIO = 'format = 1\nguards = "something"\nsurprise = true\n'


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files the rows point at: a regular file, broken TOML, projects with bad config."""
    tmp = tmp_path_factory.mktemp("inputs")
    (tmp / "file.txt").write_text("not a folder\n")
    (tmp / "bad.toml").write_text("this is [not toml\n")
    (tmp / "scenario.toml").write_text(BAD_SCENARIO)
    (tmp / "lint.toml").write_text('[tool.scenarios.lint]\ncomposition_root = ["app"]\n')
    projects = {
        "not_toml": "[tool.scenarios\ntarget = 1\n",
        "unknown_key": f'[tool.scenarios]\ntagret = "{TARGET}"\n',
        "target_int": "[tool.scenarios]\ntarget = 5\n",
    }
    for name, text in projects.items():
        (tmp / name).mkdir()
        (tmp / name / "pyproject.toml").write_text(text)
    (tmp / "targets").mkdir()
    (tmp / "targets" / "bad_outcomes.toml").write_text(BAD_OUTCOMES)
    (tmp / "targets" / "bad_syntax.toml").write_text("[two_sessions\n")
    for module, toml in (
        ("bad_outcome_target", "bad_outcomes.toml"),
        ("bad_toml_target", "bad_syntax.toml"),
    ):
        (tmp / "targets" / f"{module}.py").write_text(TARGET_MODULE.format(toml=toml))
    return {"tmp": tmp}


def _fill(text: str, tmp: Path) -> str:
    return text.format(
        tmp=tmp,
        file=tmp / "file.txt",
        bad_toml=tmp / "bad.toml",
        bad_scenario=tmp / "scenario.toml",
        lint_config=tmp / "lint.toml",
    )


def _admin_dsn() -> str | None:
    """The server this test session uses (the embedded one too), or None when none answers."""
    try:
        server = postgres_server_url()
    except PostgresUnavailable:
        return None
    if not postgres_answers(server):
        return None
    return server.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(dsn: str, sql: str, *args: str) -> list[str]:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        return [row[0] for row in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


OWNED_BY = (
    "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1"
)


@dataclass(frozen=True)
class ScratchOwner:
    role: str
    url: str  # the server's URL, logging in as `role`
    dsn: str  # the server's admin DSN

    def databases(self) -> list[str]:
        return asyncio.run(_admin(self.dsn, OWNED_BY, self.role))


@pytest.fixture(scope="module")
def scratch_owner() -> Iterator[ScratchOwner | None]:
    """A role of this module's own with CREATEDB: a row whose Postgres URL is valid connects as
    it, so any database a row left behind is found by its owner, whatever other runs do on the
    same server. None when no server answers (the other checks still run)."""
    dsn = _admin_dsn()
    if dsn is None:
        yield None
        return
    role = f"harness_inputs_{secrets.token_hex(4)}"
    password = secrets.token_hex(12)
    asyncio.run(_admin(dsn, f"CREATE ROLE \"{role}\" LOGIN CREATEDB PASSWORD '{password}'"))
    url = postgres_server_url().set(username=role, password=password)
    owner = ScratchOwner(role, url.render_as_string(hide_password=False), dsn)
    try:
        yield owner
    finally:
        for name in owner.databases():
            asyncio.run(_admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(dsn, f'DROP ROLE IF EXISTS "{role}"'))


def _call(main: Callable[[Sequence[str]], int], argv: Sequence[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exited:
        return exited.code if isinstance(exited.code, int) else 1


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_exits_two_with_one_line_naming_it(
    row: Row,
    workspace: dict[str, Path],
    scratch_owner: ScratchOwner | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pytester: pytest.Pytester,
) -> None:
    tmp = workspace["tmp"]
    reports = tmp / f"reports-{row.id}"
    for name in ("CI", "HARNESS_SQLITE_DIR", "HARNESS_HYPOTHESIS_PROFILE", "HARNESS_HYPOTHESIS_DB"):
        monkeypatch.delenv(name, raising=False)
    if scratch_owner is not None:
        monkeypatch.setenv("HARNESS_PG_URL", scratch_owner.url)
    for name, value in row.env.items():
        monkeypatch.setenv(name, _fill(value, tmp))
    monkeypatch.syspath_prepend(str(tmp / "targets"))
    args = [_fill(arg, tmp) for arg in row.args]
    if row.cwd:
        monkeypatch.chdir(tmp / row.cwd)
    if row.command == "run":
        target = [] if "--notarget" in args or "--target" in args else ["--target", TARGET]
        args = [a for a in args if a != "--notarget"]
        default_reports = [] if "--reports" in args else ["--reports", str(reports)]
        code = _call(
            run_main, ["run", *target, "--db", "sqlite,postgresql", *default_reports, *args]
        )
        out, err = capsys.readouterr()
    elif row.command == "sweep":
        default_reports = [] if "--reports" in args else ["--reports", str(reports)]
        code = _call(run_main, ["sweep", *args, *default_reports])
        out, err = capsys.readouterr()
    elif row.command == "lint":
        code = _call(lint_main, args)
        out, err = capsys.readouterr()
    elif row.command == "bench":
        default_reports = [] if "--reports" in args else ["--reports", str(reports)]
        code = _call(bench_main, [*default_reports, *args])
        out, err = capsys.readouterr()
    else:
        target = (
            []
            if any(a.startswith("--scenario-target") for a in args)
            else [f"--scenario-target={TARGET}"]
        )
        result = pytester.runpytest_subprocess(
            *target, f"--scenario-reports={reports}", "-p", "no:cacheprovider", *args
        )
        code, out, err = int(result.ret), result.stdout.str(), result.stderr.str()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (out, err)
    assert len(lines) == 1, err
    assert row.names in lines[0]
    assert "Traceback" not in out + err
    assert SECRET not in out + err
    assert not reports.exists(), "a report folder was created for a run that could not start"
    if scratch_owner is not None:
        assert scratch_owner.databases() == []


def test_the_table_covers_every_variable_and_command() -> None:
    assert len(ROWS) >= 30
    variables = {name for row in ROWS for name in row.env}
    assert variables >= {
        "HARNESS_PG_URL",
        "HARNESS_SQLITE_DIR",
        "HARNESS_HYPOTHESIS_PROFILE",
        "HARNESS_HYPOTHESIS_DB",
        "HARNESS_LOAD_REQUESTS",
        "HARNESS_LOAD_SESSIONS",
    }
    assert {row.command for row in ROWS} == {"run", "sweep", "lint", "bench", "pytest"}


# The three inputs the issue found ending in a traceback, through the real interpreter.
ISSUE_ROWS = [
    ({"HARNESS_PG_URL": "not a url"}, [], "HARNESS_PG_URL"),
    ({"HARNESS_SQLITE_DIR": "{tmp}/does-not-exist"}, [], "HARNESS_SQLITE_DIR"),
    ({}, ["--reports", "{file}/reports"], "--reports"),
]


@pytest.mark.parametrize(("env", "args", "names"), ISSUE_ROWS, ids=["pg-url", "sqlite", "reports"])
def test_the_issues_three_inputs_fail_before_any_case_in_a_real_process(
    env: dict[str, str], args: list[str], names: str, workspace: dict[str, Path]
) -> None:
    tmp = workspace["tmp"]
    environment = {**os.environ, **{k: _fill(v, tmp) for k, v in env.items()}}
    environment.pop("CI", None)
    argv = [_fill(a, tmp) for a in args] or ["--reports", str(tmp / "never")]
    completed = subprocess.run(
        [sys.executable, "-m", "scenarios", "run", "--target", TARGET, *argv],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert completed.returncode == 2, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert names in lines[0]
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.stdout == ""  # no case ran
    assert not (tmp / "never").exists()
