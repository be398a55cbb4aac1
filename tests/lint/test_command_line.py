"""`python -m scenarios.lint` as a team meets it: exit codes, the three output formats, the
configuration found from the checked paths, the allow-session marker, files that do not parse,
declared encodings; and the check run on this repository with its own configuration."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import reference_app
from scenarios.lint import ConfigError, check, load_config
from scenarios.lint.__main__ import main
from scenarios.lint.selection import build
from tests.guard.conftest import line_of

REFERENCE_APP = Path(reference_app.__file__).parent
REPO_ROOT = REFERENCE_APP.parent

DB = """
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()
"""

SERVICE = """
from sqlalchemy.orm import Session

from app.db import SessionLocal


def save(db: Session) -> None:
    db.add(1)
    SessionLocal().commit()
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with one in-hand finding in app/service.py, as the working directory."""
    write(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/service.py": SERVICE})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_output_prints_file_line_code_reason_and_exits_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["app"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "app/service.py:8: SCN001 opens a session with SessionLocal(); it is a session maker "
        "(the sessionmaker(...) at app/db.py:3), but it already has one in hand "
        "(parameter `db: Session`, app/service.py:6)"
    ]
    assert "1 finding(s) (1 with a session already in hand)" in err


def test_no_findings_exits_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app" / "service.py").write_text("def save(db):\n    db.add(1)\n")
    assert main(["app"]) == 0
    assert capsys.readouterr().out == ""


def test_json_output_carries_findings_markers_and_skips(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "app" / "broken.py").write_text("def (:\n")
    assert main(["--format", "json", "app"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["files"] == 3
    assert [(f["path"], f["line"], f["code"], f["rank"]) for f in document["findings"]] == [
        ("app/service.py", 8, "SCN001", 1)
    ]
    assert document["skipped"][0]["path"] == "app/broken.py"
    assert document["markers"] == {"used": [], "unused": []}


def test_sarif_output_is_sarif_2_1_0_with_rules_and_locations(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--format", "sarif", "app"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == "2.1.0"
    run = document["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["SCN001", "SCN002", "SCN003", "SCN004"]
    [result] = run["results"]
    assert result["ruleId"] == "SCN001"
    assert rules[result["ruleIndex"]] == "SCN001"
    assert result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/service.py"
    assert location["region"]["startLine"] == 8


def test_marker_with_a_reason_silences_its_line_and_is_reported_used(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = project / "app" / "service.py"
    service.write_text(
        service.read_text().replace(
            "SessionLocal().commit()",
            "SessionLocal().commit()  # scenarios: allow-session -- the audit log's own unit",
        )
        + "\n\ndef quiet() -> None:\n    pass  # scenarios: allow-session -- left over\n"
    )
    assert main(["--format", "json", "app"]) == 0
    markers = json.loads(capsys.readouterr().out)["markers"]
    assert markers["used"] == [
        {"path": "app/service.py", "line": 8, "reason": "the audit log's own unit"}
    ]
    assert markers["unused"] == [{"path": "app/service.py", "line": 12, "reason": "left over"}]
    assert main(["app"]) == 0
    assert "app/service.py:12: unused allow-session marker (left over)" in capsys.readouterr().err


def test_marker_without_a_reason_is_ignored_with_a_warning(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = project / "app" / "service.py"
    service.write_text(
        service.read_text().replace(
            "SessionLocal().commit()", "SessionLocal().commit()  # scenarios: allow-session"
        )
    )
    assert main(["app"]) == 1
    assert "marker without a reason is ignored" in capsys.readouterr().err


def test_a_file_that_does_not_parse_is_reported_and_skipped_the_rest_is_checked(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "app" / "newer.py").write_text("type Alias = int\nmatch = (\n")
    assert main(["app"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("app/service.py:8: SCN001")
    assert "app/newer.py:" in err
    assert "skipped, cannot parse" in err
    assert "Traceback" not in err


def test_declared_encoding_is_honoured_and_a_bad_one_is_skipped(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin = "# -*- coding: latin-1 -*-\n" + SERVICE.replace("def save", "# café\ndef save")
    (project / "app" / "service.py").write_bytes(latin.encode("latin-1"))
    (project / "app" / "wrong.py").write_bytes(b"x = '\xff\xfe'\n")
    assert main(["app"]) == 1
    out, err = capsys.readouterr()
    line = latin.splitlines().index("    SessionLocal().commit()") + 1
    assert out.startswith(f"app/service.py:{line}: SCN001")
    assert "app/wrong.py:1: skipped, cannot read" in err


def test_config_is_found_from_the_checked_path_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    team = write(
        tmp_path / "team",
        {
            "pyproject.toml": '[tool.scenarios.lint]\nexclude = ["app/service.py"]\n',
            "app/__init__.py": "",
            "app/db.py": DB,
            "app/service.py": SERVICE,
        },
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text('[tool.scenarios.lint]\nexclude = ["nothing"]\n')
    monkeypatch.chdir(elsewhere)
    assert main([str(team / "app")]) == 0
    assert main(["--isolated", str(team / "app")]) == 1
    capsys.readouterr()


def test_configured_roots_and_paths_add_to_the_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.scenarios.lint]
                composition-root = ["app.bootstrap"]
                entry-points = ["ops/*"]
                """,
            "app/__init__.py": "",
            "app/db.py": DB,
            "app/bootstrap.py": "from app.db import SessionLocal\n\nSessionLocal().commit()\n",
            "ops/nightly.py": "from app.db import SessionLocal\n\n\ndef run_nightly():\n"
            "    SessionLocal().commit()\n",
            "scripts/seed.py": "from app.db import SessionLocal\n\n\ndef load():\n"
            "    SessionLocal().commit()\n",
            "app/service.py": "from app.db import SessionLocal\n\n\ndef work():\n"
            "    SessionLocal().commit()\n",
        },
    )
    every_rule = build(select=("ALL",))  # SCN003 is off by default
    report = check([tmp_path], load_config(tmp_path / "pyproject.toml"), every_rule)
    assert [(f.path.name, f.code) for f in report.findings] == [("service.py", "SCN003")]
    assert report.warnings == []
    defaults_dropped = tmp_path / "pyproject.toml"
    defaults_dropped.write_text(
        '[tool.scenarios.lint]\nentry-points = ["ops/*"]\ndisable-defaults = ["entry-points"]\n'
        'composition-root = ["app.bootstrap", "app.no_such_module"]\n'
    )
    report = check([tmp_path], load_config(defaults_dropped), every_rule)
    assert sorted(f.path.name for f in report.findings) == ["seed.py", "service.py"]
    assert report.warnings == [
        "composition-root pattern 'app.no_such_module' matches no checked file"
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('composition-root = "app"', "must be a list of strings"),
        ('roots = ["app"]', "unknown key(s) ['roots']"),
        ('disable-defaults = ["everything"]', "disable-defaults names ['everything']"),
        ("exclude = [", "pyproject.toml"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    (project / "pyproject.toml").write_text(f"[tool.scenarios.lint]\n{table}\n")
    with pytest.raises(SystemExit) as exited:
        main(["app"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(ConfigError):
        load_config(project / "pyproject.toml")


@pytest.mark.parametrize(
    "argv",
    [[], ["no/such/path"], ["--config", "missing.toml", "app"], ["--format", "xml", "app"]],
)
def test_bad_usage_exits_2(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_python_dash_m_on_the_reference_app_with_defaults_finds_each_buggy_wiring() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scenarios.lint", "--isolated", "reference_app"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 1, result.stderr
    line = line_of(REFERENCE_APP / "wirings" / "two_sessions.py", "self._session_maker()")
    after = line_of(REFERENCE_APP / "wirings" / "commit_in_dependency.py", "await db.commit()")
    assert [row.split(" ")[:2] for row in result.stdout.splitlines()] == [
        [f"reference_app/wirings/two_sessions.py:{line}:", "SCN001"],
        [f"reference_app/wirings/commit_in_dependency.py:{after}:", "SCN004"],
    ]


def test_the_check_runs_clean_on_this_repository_with_its_own_config() -> None:
    """`python -m scenarios.lint .` at the root reads pyproject.toml's [tool.scenarios.lint],
    which excludes the code that is buggy on purpose and names the benchmarks as an entry point:
    without it, the check finds exactly the reference app's two buggy wirings (and, with every
    rule on, the benchmark's driver, which opens its own session: `SCN003`)."""
    result = subprocess.run(
        [sys.executable, "-m", "scenarios.lint", "."],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "warning" not in result.stderr
    assert "skipped" not in result.stderr.replace("0 skipped", "")
    unconfigured = check([REPO_ROOT / p for p in ("reference_app", "scenarios", "examples")])
    findings = check([REPO_ROOT], load_config(None)).findings
    assert [(f.path.parent.name, f.path.name) for f in findings] == [
        ("wirings", "two_sessions.py"),
        ("wirings", "commit_in_dependency.py"),
    ]
    every = check([REPO_ROOT], load_config(None), build(select=("ALL",))).findings
    assert ("benchmarks", "bench.py", "SCN003") in [
        (f.path.parent.name, f.path.name, f.code) for f in every
    ]
    assert unconfigured.findings == []


def test_the_pre_commit_hook_runs_the_check_on_the_files_it_is_given(project: Path) -> None:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    assert hook["id"] == "scenarios-lint"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    command = [sys.executable, *hook["entry"].split()[1:]]
    files = ["app/service.py", "app/db.py"]  # what pre-commit passes: the changed files
    result = subprocess.run(
        [*command, *files], capture_output=True, text=True, check=False, cwd=project
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("app/service.py:8: SCN001")
    clean = subprocess.run(
        [*command, "app/db.py"], capture_output=True, text=True, check=False, cwd=project
    )
    assert clean.returncode == 0, clean.stderr


TEAM_CONFIG = Path(__file__).parent / "team_config"


def test_the_team_configuration_in_the_guide_loads_and_adds_to_the_defaults() -> None:
    config = load_config(TEAM_CONFIG / "pyproject.toml")
    assert config.is_root("shop.bootstrap")
    assert config.is_root("shop.di.container")
    assert config.path_role("ops/reindex.py") == "entry-points"
    assert config.path_role("scripts/seed.py") == "entry-points"  # the default stays
    assert config.path_role("shop/consumers/orders.py") == "workers"
    assert config.path_role("qa/smoke.py") == "tests"
    assert config.path_role("db/changes/0001.py") == "migrations"
    assert config.path_role("alembic/env.py") == "migrations"
    assert config.excluded("vendor/lib.py")
    assert config.path_role("shop/orders/service.py") is None


def test_the_pre_commit_config_in_the_guide_names_the_hook_this_repository_ships() -> None:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    config = yaml.safe_load((TEAM_CONFIG / ".pre-commit-config.yaml").read_text())
    assert [h["id"] for r in config["repos"] for h in r["hooks"]] == [h["id"] for h in hooks]
    steps = yaml.safe_load((TEAM_CONFIG / ".github-workflow-step.yaml").read_text())
    assert "--format sarif" in steps[0]["run"]
    assert steps[1]["with"]["sarif_file"] == "lint.sarif"


def test_a_failure_of_the_check_on_one_file_is_reported_and_the_rest_is_checked(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last line of defence for "never a traceback": a gap in the check itself."""
    import scenarios.lint.run as check_module

    real = check_module.module_rules

    def failing_on_db(project_, module, context):
        if module.path.name == "db.py":
            raise KeyError("a shape the check does not know")
        return real(project_, module, context)

    monkeypatch.setattr(check_module, "module_rules", failing_on_db)
    assert main(["app"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("app/service.py:8: SCN001")
    assert "app/db.py:1: skipped, the check failed on this file (KeyError" in err
    assert "Traceback" not in err
