"""Report writers: what a person and CI read; never a password."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scenarios.case_result import CaseResult
from scenarios.databases import mask_password
from scenarios.matrix import MatrixRun
from scenarios.outcomes import Verdict
from scenarios.redaction import redact
from scenarios.reporting.matrix import write_reports

SECRET = "hunter2-secret"


def case(wiring: str, db: str, observed: str, expected: str, verdict: Verdict) -> CaseResult:
    return CaseResult(
        scenario="first_message_new_session",
        interleaving="sequence",
        wiring=wiring,
        db=db,
        expected=expected,
        observed=observed,
        verdict=verdict,
        detail=f"r1: failed; see postgresql+asyncpg://app:{SECRET}@db.internal/x",
        duration_s=0.01,
        guards="Something must hold.",
        rows={"sessions": []},
    )


@pytest.fixture
def run() -> MatrixRun:
    return MatrixRun(
        target="demo",
        results=[
            case("two_sessions", "sqlite", "lock_timeout", "lock_timeout", Verdict.AS_EXPECTED),
            case("shared_session", "sqlite", "lost_write", "ok", Verdict.UNEXPECTED),
            CaseResult(
                scenario="first_message_new_session",
                interleaving="sequence",
                wiring="shared_session",
                db="postgresql",
                expected="",
                observed="skipped",
                verdict=Verdict.SKIPPED,
                detail="skipped: cannot reach PostgreSQL",
                duration_s=0.0,
            ),
        ],
        databases={
            "sqlite": "sqlite+aiosqlite:///x",
            "postgresql": f"postgresql://u:{SECRET}@h/db",
        },
    )


def test_passwords_are_masked_in_urls_and_free_text() -> None:
    assert mask_password(f"postgresql+asyncpg://app:{SECRET}@h:5432/db") == (
        "postgresql+asyncpg://app:***@h:5432/db"
    )
    assert SECRET not in redact(f"could not connect to postgresql://app:{SECRET}@h/db (refused)")


def test_every_report_is_written_and_none_contains_the_password(
    run: MatrixRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    written = write_reports(run, tmp_path / "reports")
    assert {p.name for p in written} == {
        "matrix.json",
        "matrix.md",
        "junit-matrix.xml",
        "index.html",
    }
    for path in [*written, summary]:
        assert SECRET not in path.read_text(encoding="utf-8"), path.name


def test_matrix_json_has_the_designed_fields_and_a_failing_summary(
    run: MatrixRun, tmp_path: Path
) -> None:
    write_reports(run, tmp_path)
    document = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))
    assert document["summary"] == {
        "cases": 3,
        "as_expected": 1,
        "unexpected": 1,
        "skipped": 1,
        "passed": False,
    }
    for cell in document["cells"]:
        assert {
            "db",
            "wiring",
            "scenario",
            "expected",
            "observed",
            "verdict",
            "detail",
            "duration_s",
        } <= set(cell)
    skipped = [c for c in document["cells"] if c["verdict"] == "skipped"]
    assert skipped
    assert all(c["observed"] == "skipped" for c in skipped)


def test_matrix_md_shows_the_failing_cells_outcome_not_just_fail(
    run: MatrixRun, tmp_path: Path
) -> None:
    write_reports(run, tmp_path)
    markdown = (tmp_path / "matrix.md").read_text(encoding="utf-8")
    assert "❌ lost_write (expected ok)" in markdown
    assert "⏭ skipped" in markdown
    assert "**FAILED**" in markdown
    assert "## Unexpected cases" in markdown


def test_junit_marks_unexpected_as_failures_and_skipped_as_skipped(
    run: MatrixRun, tmp_path: Path
) -> None:
    write_reports(run, tmp_path)
    root = ET.parse(tmp_path / "junit-matrix.xml").getroot()
    cases = {c.get("classname"): c for c in root.iter("testcase")}
    assert cases["scenarios.shared_session.sqlite"].find("failure") is not None
    assert cases["scenarios.shared_session.postgresql"].find("skipped") is not None
    assert list(cases["scenarios.two_sessions.sqlite"]) == []


def test_reports_record_the_library_versions_a_verdict_depends_on() -> None:
    from importlib.metadata import version

    from scenarios.matrix import MatrixRun
    from scenarios.reporting.matrix import markdown_document, matrix_document

    run = MatrixRun(target="t")
    document = matrix_document(run)
    for name in ("fastapi", "starlette", "sqlalchemy"):
        assert document["versions"][name] == version(name)
    assert f"fastapi {version('fastapi')}" in markdown_document(run)
