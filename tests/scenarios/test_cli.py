"""`python -m scenarios run`: exit codes, skipped Postgres cells, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.cli import main

TARGET = "reference_app.adapter:TARGET"
UNREACHABLE = "postgresql+asyncpg://harness:pa55word@127.0.0.1:1/postgres"


def test_a_passing_run_exits_zero_and_writes_the_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "--target",
            TARGET,
            "--db",
            "sqlite",
            "-k",
            "first_message",
            "--reports",
            str(tmp_path),
        ]
    )
    assert code == 0
    document = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))
    assert {c["wiring"] for c in document["cells"]} == {
        "two_sessions",
        "shared_session",
        "commit_in_save",
        "unit_of_work",
        "commit_in_dependency",
        "commit_before_response",
    }
    assert "6 as expected, 0 unexpected" in capsys.readouterr().out


@pytest.mark.slow  # twelve Hypothesis searches, one a cell, through the CLI
def test_the_stateful_search_alone_runs_one_case_a_cell(tmp_path: Path) -> None:
    """`-k stateful` matches no scenario of the pack, only the search: the way to run it alone."""
    arguments = ["run", "--target", TARGET, "--db", "sqlite", "--wiring", "shared_session"]
    code = main(
        [*arguments, "-k", "stateful", "--stateful-examples", "2", "--reports", str(tmp_path)]
    )
    assert code == 0
    cells = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))["cells"]
    assert [(c["scenario"], c["wiring"], c["db"]) for c in cells] == [
        ("stateful", "shared_session", "sqlite")
    ]


def test_unreachable_postgres_is_skipped_with_the_reason_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("HARNESS_PG_URL", UNREACHABLE)
    code = main(
        [
            "run",
            "--target",
            TARGET,
            "-k",
            "first_message",
            "--wiring",
            "unit_of_work",
            "--reports",
            str(tmp_path),
        ]
    )
    output = capsys.readouterr().out
    assert code == 0  # the SQLite cells ran and passed; Postgres is reported, not hidden
    assert "postgresql cells skipped" in output
    assert "HARNESS_PG_URL" in output
    cells = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))["cells"]
    postgres = [c for c in cells if c["db"] == "postgresql"]
    assert postgres
    assert all(c["verdict"] == "skipped" and c["observed"] == "skipped" for c in postgres)
    everything = output + "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert "pa55word" not in everything


def test_unreachable_postgres_under_ci_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("HARNESS_PG_URL", UNREACHABLE)
    code = main(["run", "--target", TARGET, "-k", "first_message", "--reports", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert "PostgreSQL is required under CI" in error
    assert "pa55word" not in error


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--wiring", "three_sessions"], "unknown wiring"),
        (["--db", "oracle"], "unknown database"),
        (["-k", "no-such-scenario"], "no scenario name contains"),
        (["--target", "nowhere.module:TARGET"], "cannot import"),
        (["--target", "reference_app.adapter"], "must look like"),
    ],
)
def test_bad_usage_exits_two_with_a_message(
    arguments: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--target", TARGET, *arguments])
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err
