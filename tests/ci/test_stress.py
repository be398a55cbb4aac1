"""`nox -s stress-tests`: its busy loops always stop, and each run's verdict and figures are
what the run did (a failing run is reported as failed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.stress import busy_processes, main, stress

# Stands in for pytest: writes the JUnit file it is given, then exits with argv[1].
FAKE_SUITE = """
import sys
junit = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml="))
failed = int(sys.argv[1])
open(junit, "w").write(
    f'<testsuites><testsuite tests="3" failures="{failed}" errors="0" skipped="1"/></testsuites>'
)
sys.exit(failed)
"""


def test_the_busy_loops_run_while_inside_and_are_gone_after() -> None:
    with busy_processes(2) as processes:
        assert len(processes) == 2
        assert all(p.poll() is None for p in processes)
    assert all(p.poll() is not None for p in processes)


def test_the_busy_loops_stop_even_when_the_run_raises() -> None:
    with pytest.raises(RuntimeError), busy_processes(1) as processes:
        raise RuntimeError("the suite could not start")
    assert processes[0].poll() is not None


def test_each_run_is_recorded_with_its_verdict_and_counts(tmp_path: Path) -> None:
    passing = [sys.executable, "-c", FAKE_SUITE, "0"]
    results, context = stress(passing, runs=2, busy=1, reports=tmp_path)
    assert [(r.number, r.passed, r.tests, r.failures, r.skipped) for r in results] == [
        (1, True, 3, 0, 1),
        (2, True, 3, 0, 1),
    ]
    assert context["busy_processes"] == 1
    assert all(len(r.load_start) == 3 for r in results)


def test_a_failing_run_fails_the_command_and_the_report_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # main() runs `python -m pytest ...`; point it at the fake suite instead.
    monkeypatch.setattr(
        "benchmarks.stress._pytest_command",
        lambda args: [sys.executable, "-c", FAKE_SUITE, *args],
    )
    assert main(["--runs", "1", "--busy", "0", "--reports", str(tmp_path), "1"]) == 1
    document = json.loads((tmp_path / "stress-tests.json").read_text())
    assert [r["passed"] for r in document["results"]] == [False]
    assert "FAILED" in (tmp_path / "stress-tests.md").read_text()


def test_nonsense_options_are_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--runs", "0"])
    assert exited.value.code == 2
    assert "--runs must be at least 1" in capsys.readouterr().err
