"""Rule selection as teams know it from ruff (`select`, `extend-select`, `ignore`,
`per-file-ignores`, `severity`, from pyproject.toml and from flags), the exit status that only
error-level findings set, and `SCN004` weighed by the FastAPI version the app runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scenarios.lint import check, load_config
from scenarios.lint.__main__ import main
from scenarios.lint.fastapi_version import admitted, declared_near

DB = """
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
"""

# one SCN001 (line 7) and one SCN003 (line 11)
SERVICE = """
from sqlalchemy.orm import Session
from app.db import SessionLocal


def save(db: Session) -> None:
    SessionLocal().commit()


def work() -> None:
    SessionLocal().commit()
"""

DEPENDENCY = """
from fastapi import Depends
from app.db import SessionLocal


def get_db():
    db = SessionLocal()
    yield db
    db.commit()
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/service.py": SERVICE})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def codes(root: Path) -> list[str]:
    return [f.code for f in check([root / "app"], load_config(root / "pyproject.toml")).findings]


def test_by_default_scn001_is_on_and_scn003_off(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.scenarios.lint]\n")
    assert codes(project) == ["SCN001"]


def test_select_extend_select_and_ignore_from_the_configuration(project: Path) -> None:
    table = project / "pyproject.toml"
    table.write_text('[tool.scenarios.lint]\nextend-select = ["SCN003"]\n')
    assert codes(project) == ["SCN001", "SCN003"]
    table.write_text('[tool.scenarios.lint]\nselect = ["ALL"]\nignore = ["SCN001"]\n')
    assert codes(project) == ["SCN003"]
    table.write_text('[tool.scenarios.lint]\nselect = ["SCN00"]\n')
    assert codes(project) == ["SCN001", "SCN003"]


def test_per_file_ignores_drop_a_rule_for_matching_paths_only(project: Path) -> None:
    table = project / "pyproject.toml"
    table.write_text(
        '[tool.scenarios.lint]\nselect = ["ALL"]\n'
        '[tool.scenarios.lint.per-file-ignores]\n"app/service.py" = ["SCN003"]\n'
    )
    assert codes(project) == ["SCN001"]
    table.write_text(
        '[tool.scenarios.lint]\nselect = ["ALL"]\n'
        '[tool.scenarios.lint.per-file-ignores]\n"other/*" = ["SCN003"]\n'
    )
    assert codes(project) == ["SCN001", "SCN003"]


def test_flags_override_the_configuration(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text('[tool.scenarios.lint]\nselect = ["SCN003"]\n')
    assert main(["app"]) == 0  # SCN003 is a warning: it does not fail the run
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["SCN003"]
    assert main(["--select", "SCN001", "app"]) == 1
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["SCN001"]
    assert main(["--ignore", "SCN003", "app"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["--extend-select", "SCN001", "app"]) == 1
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_severity_decides_the_exit_status(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = project / "pyproject.toml"
    table.write_text('[tool.scenarios.lint]\nseverity = { SCN001 = "warning" }\n')
    assert main(["app"]) == 0
    assert "SCN001 [warning]" in capsys.readouterr().out
    table.write_text(
        '[tool.scenarios.lint]\nselect = ["SCN003"]\nseverity = { SCN003 = "error" }\n'
    )
    assert main(["app"]) == 1
    capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "table", "message"),
    [
        (["--select", "SCN9", "app"], "", "--select: unknown rule code 'SCN9'"),
        (["--ignore", "E501", "app"], "", "--ignore: unknown rule code 'E501'"),
        (["app"], 'select = ["SCN007"]', "unknown rule code 'SCN007'"),
        (["app"], 'severity = { SCN001 = "fatal" }', "severity of SCN001 is 'fatal'"),
        (["app"], 'per-file-ignores = { "x/*" = "SCN001" }', "must be a list of rule codes"),
        (["app"], "fastapi-version = 0.115", "fastapi-version must be a string"),
    ],
)
def test_a_bad_rule_code_or_level_is_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], table: str, message: str
) -> None:
    (project / "pyproject.toml").write_text(f"[tool.scenarios.lint]\n{table}\n")
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("declaration", "level"),
    [
        ('[project]\ndependencies = ["fastapi==0.115.6"]\n', "info"),
        ('[project]\ndependencies = ["fastapi[standard]>=0.110,<0.116"]\n', "info"),
        ('[tool.poetry.dependencies]\nfastapi = "^0.115.0"\n', "info"),
        ('[project]\ndependencies = ["fastapi>=0.118"]\n', "error"),
        ('[project]\ndependencies = ["fastapi==0.100.0"]\n', "error"),  # before 0.106: after
        ('[project]\ndependencies = ["fastapi>=0.110"]\n', "error"),  # may be the newest
    ],
)
def test_scn004_is_informational_where_the_declared_fastapi_commits_before_the_response(
    tmp_path: Path, declaration: str, level: str
) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/deps.py": DEPENDENCY})
    (tmp_path / "pyproject.toml").write_text(declaration)
    declared_near.cache_clear()
    report = check([tmp_path / "app"], load_config(None))
    assert [(f.code, f.level) for f in report.findings] == [("SCN004", level)]
    assert report.errors == (1 if level == "error" else 0)


def test_scn004_reads_requirements_and_the_configured_version_first(tmp_path: Path) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/deps.py": DEPENDENCY})
    (tmp_path / "requirements.txt").write_text("sqlalchemy==2.0.36\nfastapi==0.115.2\n")
    declared_near.cache_clear()
    report = check([tmp_path / "app"], load_config(None))
    assert [f.level for f in report.findings] == ["info"]
    assert "declared in" in report.findings[0].reason
    (tmp_path / "pyproject.toml").write_text('[tool.scenarios.lint]\nfastapi-version = "0.121"\n')
    report = check([tmp_path / "app"], load_config(tmp_path / "pyproject.toml"))
    assert [f.level for f in report.findings] == ["error"]


def test_version_ranges_read_as_pip_and_poetry_read_them() -> None:
    def span(spec: str) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        known = admitted(spec, "test")
        assert known is not None
        return known.low, known.high

    assert span("==0.115.0") == ((0, 115, 0), (0, 115, 1))
    assert span("~=0.115.0") == ((0, 115, 0), (0, 116))
    assert span("^0.115") == ((0, 115), (0, 116))
    assert span(">=0.100") == ((0, 100), None)
    assert span("==0.95.*") == ((0, 95), (0, 96))
    assert admitted("latest", "test") is None
