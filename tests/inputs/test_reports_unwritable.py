"""When the report folder disappears after the cases ran, the verdicts are not lost: each is
printed, and one line on stderr says what could not be written (issue 20)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import scenarios.cli
from reference_app.adapter import TARGET as REFERENCE
from scenarios.cli import main
from scenarios.matrix import MatrixRun, run_matrix

TARGET = "reference_app.adapter:TARGET"


def test_verdicts_are_printed_when_the_report_folder_vanished_mid_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = tmp_path / "gone"
    reports = parent / "reports"
    real_run_matrix = run_matrix

    async def run_then_lose_the_folder(*args: Any, **kwargs: Any) -> MatrixRun:
        run = await real_run_matrix(*args, **kwargs)
        # What a cleanup job or an unmounted disk does while the run is busy: the folder is
        # gone and a file stands where it was, so nothing can be created below it.
        shutil.rmtree(parent, ignore_errors=True)
        parent.write_text("not a folder any more\n")
        return run

    monkeypatch.setattr(scenarios.cli, "run_matrix", run_then_lose_the_folder)
    code = main(
        [
            "run",
            "--target",
            TARGET,
            "--db",
            "sqlite",
            "-k",
            "first_message",
            "--stateful-examples",
            "0",
            "--quiet",
            "--reports",
            str(reports),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    printed = [line for line in out.splitlines() if "first_message_new_session" in line]
    assert len(printed) == len(REFERENCE.wirings)  # one verdict per wiring, though --quiet
    assert all(line.startswith("as_expected ") for line in printed)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "could not write the reports" in lines[0]
    assert str(reports) in lines[0]
    assert "Traceback" not in out + err
