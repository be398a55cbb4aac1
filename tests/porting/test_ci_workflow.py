"""The GitHub workflow is valid YAML and stays in step with .ci/run: the same nox sessions in the
same order, Postgres 15 as a service, HARNESS_PG_URL set, the reports uploaded."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = REPO_ROOT / ".ci" / "run"


def nox_commands(lines: list[str]) -> list[list[str]]:
    commands = []
    for line in lines:
        words = shlex.split(line, comments=True)
        # `VAR=value nox ...` counts too, assignments included (the embedded-server matrix).
        command = [w for w in words if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", w)]
        if command and command[0] == "nox":
            commands.append(words)
    return commands


def workflow() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def job() -> dict[str, Any]:
    jobs = workflow()["jobs"]
    assert len(jobs) == 1
    return next(iter(jobs.values()))


def test_the_workflow_is_valid_yaml_with_triggers_and_one_job() -> None:
    document = workflow()
    # YAML 1.1 reads the key `on` as the boolean True.
    triggers = document["on"] if "on" in document else document[True]
    assert "push" in triggers
    assert job()["runs-on"] == "ubuntu-latest"


def test_the_workflow_runs_the_same_nox_sessions_as_ci_run_in_the_same_order() -> None:
    run_lines = [
        line for step in job()["steps"] if "run" in step for line in step["run"].splitlines()
    ]
    expected = nox_commands(CI_RUN.read_text(encoding="utf-8").splitlines())
    assert expected, ".ci/run names no nox session"
    assert nox_commands(run_lines) == expected


def test_the_workflow_has_postgres_15_and_points_the_harness_at_it() -> None:
    postgres = job()["services"]["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "5432:5432" in postgres["ports"]
    assert job()["env"]["HARNESS_PG_URL"].startswith("postgresql+asyncpg://")
    assert "127.0.0.1:5432" in job()["env"]["HARNESS_PG_URL"]


def test_the_workflow_installs_nox_and_uploads_the_reports_even_on_failure() -> None:
    steps = job()["steps"]
    assert any("pip install" in s.get("run", "") and "nox" in s["run"] for s in steps)
    upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert len(upload) == 1
    assert upload[0]["if"] == "always()"
    assert upload[0]["with"]["path"].rstrip("/") == "reports"
