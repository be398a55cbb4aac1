"""The GitHub workflow is valid YAML and stays in step with .ci/run and the noxfile: the same
nox sessions (the matrix sharded into every `cell(...)` session), Postgres 15 as a service
wherever a database is used, HARNESS_PG_URL set, the cells' reports merged into one and uploaded
even on failure."""

from __future__ import annotations

import ast
import itertools
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = REPO_ROOT / ".ci" / "run"
NOXFILE = REPO_ROOT / "noxfile.py"


def nox_commands(lines: list[str]) -> list[list[str]]:
    commands = []
    for line in lines:
        words = shlex.split(line, comments=True)
        # `VAR=value nox ...` counts too, assignments included (the embedded-server matrix).
        command = [w for w in words if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", w)]
        # .ci/run times each command through its `step` function.
        if command[:1] == ["step"]:
            words.remove("step")
            command = command[1:]
        if command and command[0] == "nox":
            commands.append(words)
    return commands


def workflow() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def jobs() -> dict[str, Any]:
    found = workflow()["jobs"]
    assert isinstance(found, dict)
    return found


def run_lines(job: dict[str, Any]) -> list[str]:
    return [line for step in job["steps"] if "run" in step for line in step["run"].splitlines()]


def noxfile_list(name: str) -> list[str]:
    """A module-level list of strings in noxfile.py (WIRINGS, DATABASES), read without nox."""
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(v) for v in value]
    raise AssertionError(f"noxfile.py has no {name} list")


def cells_of_the_job_matrix() -> list[str]:
    """The nox sessions the `cell` job runs: its command with the matrix substituted."""
    job = jobs()["cell"]
    matrix = job["strategy"]["matrix"]
    (command,) = nox_commands(run_lines(job))
    sessions = []
    for wiring, db in itertools.product(matrix["wiring"], matrix["db"]):
        session = command[command.index("-s") + 1]
        sessions.append(
            session.replace("${{ matrix.wiring }}", wiring).replace("${{ matrix.db }}", db)
        )
    return sessions


def test_the_workflow_is_valid_yaml_with_triggers_and_jobs() -> None:
    document = workflow()
    # YAML 1.1 reads the key `on` as the boolean True.
    triggers = document["on"] if "on" in document else document[True]
    assert "push" in triggers
    assert set(jobs()) == {"lint", "cell", "report", "tests"}
    assert all(job["runs-on"] == "ubuntu-latest" for job in jobs().values())


def test_the_matrix_is_sharded_into_every_cell_session_of_the_noxfile() -> None:
    expected = [
        f"cell({w}-{d})"
        for w, d in itertools.product(noxfile_list("WIRINGS"), noxfile_list("DATABASES"))
    ]
    assert sorted(cells_of_the_job_matrix()) == sorted(expected)
    assert jobs()["cell"]["strategy"]["fail-fast"] is False  # every cell reports


def test_the_workflow_covers_the_nox_sessions_of_ci_run() -> None:
    """.ci/run runs lint, the docs site, the matrix (`nox`), the matrix on the embedded server,
    the tests and the lowest versions on one machine; the workflow runs the same: lint and the
    docs in their own job, the matrix as its cells, and the rest, in .ci/run's order, in the
    `tests` job (where `-R`, which reuses a venv of the same machine, has nothing to reuse)."""
    expected = [
        [word for word in command if word != "-R"]
        for command in nox_commands(CI_RUN.read_text(encoding="utf-8").splitlines())
    ]
    assert expected[:2] == [["nox", "-s", "lint"], ["nox", "-s", "docs"]]
    assert expected[2] == ["nox"]
    # The README's test command (its arguments after `--` may leave out what `nox` proved).
    assert ["nox", "-s", "tests"] in [command[:3] for command in expected]
    assert nox_commands(run_lines(jobs()["lint"])) == expected[:2]
    assert nox_commands(run_lines(jobs()["tests"])) == expected[3:]


def test_every_job_with_a_database_has_postgres_15_and_the_harness_points_at_it() -> None:
    for name in ("cell", "tests"):
        postgres = jobs()[name]["services"]["postgres"]
        assert postgres["image"] == "postgres:15"
        assert "5432:5432" in postgres["ports"]
    url = workflow()["env"]["HARNESS_PG_URL"]
    assert url.startswith("postgresql+asyncpg://")
    assert "127.0.0.1:5432" in url


def test_every_job_with_a_database_has_mariadb_and_the_harness_points_at_it() -> None:
    for name in ("cell", "tests"):
        mariadb = jobs()[name]["services"]["mariadb"]
        assert mariadb["image"].startswith("mariadb:")
        assert "3306:3306" in mariadb["ports"]
    url = workflow()["env"]["HARNESS_MARIADB_URL"]
    assert url.startswith("mysql+aiomysql://")
    assert "127.0.0.1:3306" in url


def test_the_cells_are_merged_into_one_report_uploaded_even_on_failure() -> None:
    cell_steps = jobs()["cell"]["steps"]
    cell_upload = [s for s in cell_steps if str(s.get("uses", "")).startswith("actions/upload")]
    assert len(cell_upload) == 1
    assert cell_upload[0]["if"] == "always()"
    assert cell_upload[0]["with"]["name"].startswith("cell-")

    report = jobs()["report"]
    assert report["needs"] == "cell"
    assert report["if"] == "always()"
    (merge,) = [line for line in run_lines(report) if "merge-reports" in line]
    words = shlex.split(merge)
    assert words[:4] == ["python", "-m", "scenarios", "merge-reports"]
    assert words[words.index("--reports") + 1] == "reports"
    upload = [s for s in report["steps"] if str(s.get("uses", "")).startswith("actions/upload")]
    assert len(upload) == 1
    assert upload[0]["if"] == "always()"
    assert upload[0]["with"]["name"] == "reports"
    assert upload[0]["with"]["path"].rstrip("/") == "reports"


def test_the_workflow_installs_nox_where_it_runs_nox() -> None:
    for job in jobs().values():
        if nox_commands(run_lines(job)):
            assert any("pip install" in line and "nox" in line for line in run_lines(job))
