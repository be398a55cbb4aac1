"""A door's JSON report keeps one entry per app factory and database (scenarios/reporting/runs.py),
as both the sweep's and the route door's writers rely on."""

from __future__ import annotations

import json
from pathlib import Path

from scenarios.reporting.runs import replace_run


def test_a_run_replaces_its_own_entry_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "sweep.json"
    earlier = [
        {"app_factory": "b:app", "db": "sqlite", "n": 1},
        {"app_factory": "a:app", "db": "sqlite", "n": 1},
        {"app_factory": "a:app", "db": "postgresql", "n": 1},
        "not ours",
    ]
    path.write_text(json.dumps({"sweeps": earlier}), encoding="utf-8")
    entries = replace_run(path, "sweeps", {"app_factory": "a:app", "db": "sqlite", "n": 2})
    assert entries == [
        {"app_factory": "a:app", "db": "postgresql", "n": 1},
        {"app_factory": "a:app", "db": "sqlite", "n": 2},
        {"app_factory": "b:app", "db": "sqlite", "n": 1},
    ]


def test_an_absent_or_foreign_report_starts_afresh_and_passwords_are_masked(
    tmp_path: Path,
) -> None:
    current = {"app_factory": "a:app", "db": "postgresql", "detail": "postgresql://u:secret@h/db"}
    assert "secret" not in json.dumps(replace_run(tmp_path / "absent.json", "runs", current))
    (tmp_path / "foreign.json").write_text("[1, 2]", encoding="utf-8")
    assert [e["app_factory"] for e in replace_run(tmp_path / "foreign.json", "runs", current)] == [
        "a:app"
    ]
