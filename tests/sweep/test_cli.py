"""`python -m scenarios sweep`: exit status 0 / 1 / 2, one line per usage error, the reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from examples import sweep_factories
from scenarios.cli import main
from scenarios.databases import postgres_server_url
from scenarios.reporting import read_sections
from tests.conftest import without_postgres
from tests.sweep.small_apps import ORDER

ROOT = Path(__file__).resolve().parents[2]


def sweep_small_app(factory: str, *options: str, db: str = "sqlite", request: str = ORDER) -> int:
    """`python -m scenarios sweep` in-process on an app of tests/sweep/small_apps.py."""
    app = f"tests.sweep.small_apps:{factory}"
    return main(["sweep", "--app-factory", app, "--db", db, "--request", request, *options])


def test_an_atomic_app_exits_0_and_writes_both_reports(tmp_path: Path, capsys) -> None:
    status = sweep_small_app("clean_orders", "--reports", str(tmp_path))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "atomic     POST /orders" in out
    document = json.loads((tmp_path / "sweep.json").read_text())
    assert document["atomic"] is True
    (sweep,) = document["sweeps"]
    assert sweep["app_factory"] == "tests.sweep.small_apps:clean_orders"
    (request,) = sweep["requests"]
    assert [b["outcome"] for b in request["boundaries"]] == ["ok"] * 5
    assert request["boundaries_total"] == request["boundaries_run"] == 5
    assert "| 1S | 2S | 3S | 4C | 5R |" in (tmp_path / "sweep.md").read_text()
    (section,) = read_sections(tmp_path / "index.html")
    assert [(c.step, c.outcome) for c in section.cells] == [("no fault", "ok")] + [
        (step, "ok") for step in ("1S", "2S", "3S", "4C", "5R")
    ]


def test_a_partial_commit_exits_1_and_joins_the_earlier_sweeps_in_the_reports(
    tmp_path: Path, capsys
) -> None:
    common = ["--reports", str(tmp_path)]
    assert sweep_small_app("clean_orders", *common) == 0
    status = sweep_small_app("line_repository_commits", *common)
    out = capsys.readouterr().out
    assert status == 1
    assert "NOT atomic POST /orders" in out
    assert "partial_commit at 4S, 5C" in out
    document = json.loads((tmp_path / "sweep.json").read_text())
    assert document["atomic"] is False
    assert [s["app_factory"].rsplit(":")[1] for s in document["sweeps"]] == [
        "clean_orders",
        "line_repository_commits",
    ]
    markdown = (tmp_path / "sweep.md").read_text()
    assert "| 🟩 ok | 🟩 ok | 🟩 ok | 🟥 **P** | 🟥 **P** | 🟩 ok |" in markdown
    assert "NOT atomic" in markdown
    assert "atomic at every boundary" in markdown


def test_the_cap_samples_the_boundaries_and_says_so(tmp_path: Path, capsys) -> None:
    status = main(
        [
            "sweep",
            "--app-factory",
            "examples.sweep_factories:commit_in_save",
            "--db",
            "sqlite",
            "--request",
            sweep_factories.SEND,
            "--reports",
            str(tmp_path),
            "--max-boundaries",
            "6",
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "sampled: 6 of 12 boundaries run" in out
    (request,) = json.loads((tmp_path / "sweep.json").read_text())["sweeps"][0]["requests"]
    assert request["sampled"] is True
    assert request["boundaries_run"] == 6
    kinds = [b["kind"] for b in request["boundaries"]]
    assert kinds.count("commit") == 3, "every commit is run"
    assert kinds.count("response") == 1, "the response is run"
    assert "**Sampled**" in (tmp_path / "sweep.md").read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--db", "sqlite", "--request", "GET /"], "--app-factory MODULE:FUNC is required"),
        (["--app-factory", "a:b", "--db", "oracle", "--request", "GET /"], "--db must be one of"),
        (["--app-factory", "a:b", "--db", "sqlite"], "at least one --request"),
        (
            ["--app-factory", "nosuchmodule:app", "--db", "sqlite", "--request", "GET /"],
            "cannot import 'nosuchmodule'",
        ),
        (
            [
                "--app-factory",
                "tests.sweep.small_apps:nothing",
                "--db",
                "sqlite",
                "--request",
                "GET /",
            ],
            "has no 'nothing'",
        ),
        (
            ["--app-factory", "tests.sweep.small_apps", "--db", "sqlite", "--request", "GET /"],
            "must look like MODULE:FUNC",
        ),
        (
            [
                "--app-factory",
                "tests.sweep.small_apps:clean_orders",
                "--db",
                "sqlite",
                "--request",
                "POST /orders {oops",
            ],
            "the body is not JSON",
        ),
        (
            [
                "--app-factory",
                "tests.sweep.small_apps:clean_orders",
                "--db",
                "sqlite",
                "--request",
                "FETCH /orders",
            ],
            "unknown method 'FETCH'",
        ),
        (
            [
                "--app-factory",
                "tests.sweep.small_apps:clean_orders",
                "--db",
                "sqlite",
                "--request",
                "POST orders",
            ],
            "must start with '/'",
        ),
        (
            [
                "--app-factory",
                "tests.sweep.small_apps:ORDER",
                "--db",
                "sqlite",
                "--request",
                "GET /",
            ],
            "is not callable",
        ),
    ],
)
def test_a_usage_error_exits_2_with_one_line(arguments, message, capsys) -> None:
    assert main(["sweep", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("error: ")
    assert message in line


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--max-boundaries", "many"], "argument --max-boundaries: invalid int value: 'many'"),
        (["--app-factory", "a:b", "--bogus"], "unrecognized arguments: --bogus"),
        (["--reports"], "argument --reports: expected one argument"),
    ],
)
def test_a_mistake_argparse_catches_is_one_line_too(arguments, message, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sweep", *arguments])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert message in line


def test_the_module_is_imported_from_the_current_folder_as_uvicorn_does(tmp_path: Path) -> None:
    (tmp_path / "myapp.py").write_text(
        "from tests.sweep.small_apps import clean_orders as build\n", encoding="utf-8"
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "scenarios",
            "sweep",
            "--app-factory",
            "myapp:build",
            "--db",
            "sqlite",
            "--request",
            ORDER,
            "--reports",
            str(tmp_path / "reports"),
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "reports" / "sweep.json").is_file()


def test_a_password_in_a_request_is_masked_in_every_line_and_report(tmp_path: Path, capsys) -> None:
    order = 'POST /orders {"customer": "pg://me:s3cret@db", "skus": ["tea"]}'
    reports_option = ["--reports", str(tmp_path)]
    assert sweep_small_app("clean_orders", *reports_option, request=order) == 0
    assert sweep_small_app("swallowing_orders", *reports_option, request=order) == 1
    captured = capsys.readouterr()
    reports = [(tmp_path / name).read_text() for name in ("sweep.json", "sweep.md", "index.html")]
    assert "s3cret" not in captured.err
    for text in [captured.out, *reports]:
        assert "s3cret" not in text
        assert "pg://me:***@db" in text


def test_a_factory_that_raises_exits_2_with_one_line(capsys) -> None:
    status = sweep_small_app("broken_factory")
    assert status == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "error: the app factory tests.sweep.small_apps:broken_factory raised "
        "RuntimeError: no settings file"
    )


def test_a_reports_folder_that_cannot_be_written_exits_2_with_one_line(
    tmp_path: Path, capsys
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    status = sweep_small_app("clean_orders", "--reports", str(blocker))
    assert status == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: --reports '{blocker}': cannot write the reports")


def test_an_unreachable_postgres_is_one_line_with_the_password_masked(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("HARNESS_PG_URL", "postgresql+asyncpg://me:s3cret@127.0.0.1:1/postgres")
    status = sweep_small_app("clean_orders", db="postgresql")
    assert status == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: cannot reach PostgreSQL at postgresql+asyncpg://me:***@")
    assert "s3cret" not in line


@pytest.mark.postgres
def test_the_password_of_the_server_never_reaches_output_or_reports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    server = make_url(postgres_server_url())
    if server.password:
        pytest.skip("the server's URL has a password of its own; this test sets one")
    # The local server trusts the connection, so any password connects: it must not show.
    monkeypatch.setenv(
        "HARNESS_PG_URL", server.set(password="s3cret").render_as_string(hide_password=False)
    )
    status = sweep_small_app("clean_orders", "--reports", str(tmp_path), db="postgresql")
    captured = capsys.readouterr()
    if status == 2 and "cannot reach PostgreSQL" in captured.err:
        without_postgres(captured.err)
    assert status == 0, captured
    written = [(tmp_path / name).read_text() for name in ("sweep.json", "sweep.md")]
    for text in [captured.out, captured.err, *written]:
        assert "s3cret" not in text
    assert ":***@" in written[0]
