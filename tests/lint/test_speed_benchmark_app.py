"""The app `benchmarks/lint_speed.py` times the check on is a fair workload: every package is
resolved and checked, and the check finds exactly the second sessions planted in it."""

from __future__ import annotations

from pathlib import Path

from benchmarks.lint_speed import FILES_PER_PACKAGE, generate_app
from scenarios.lint import LintConfig, check


def test_the_generated_app_gives_exactly_its_planted_findings(tmp_path: Path) -> None:
    app = generate_app(tmp_path, 2 + 12 * FILES_PER_PACKAGE)
    report = check([app], LintConfig(base=tmp_path))
    assert report.files == 2 + 12 * FILES_PER_PACKAGE
    assert report.skipped == []
    planted = {"feature000", "feature010"}  # every tenth package's service
    assert {(f.path.parent.name, f.path.name, f.code) for f in report.findings} == {
        (package, "service.py", "SCN001") for package in planted
    }
