"""The harness installed `--no-deps` into an app that has no asyncpg (a SQLite-only or psycopg
app) must not break that app's pytest: the pytest plugins it registers import asyncpg only when
a Postgres run needs it. Reported by the guard's trial on an app without asyncpg."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Loaded with `-p` before the entry-point plugins: asyncpg cannot be imported after this.
BLOCKER = "import sys\n\nsys.modules['asyncpg'] = None\n"

INNER_TEST = """
import sys

import pytest


def test_the_plugins_loaded_without_asyncpg(pytestconfig: pytest.Config) -> None:
    with pytest.raises(ImportError):
        import asyncpg  # noqa: F401
    assert "scenarios.plugin" in sys.modules
    assert "scenarios.guard.pytest_plugin" in sys.modules
    assert pytestconfig.getoption("session_guard_mode") == "report"
"""


def test_pytest_runs_with_the_plugins_where_asyncpg_cannot_be_imported(tmp_path: Path) -> None:
    (tmp_path / "block_asyncpg.py").write_text(BLOCKER)
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "block_asyncpg", "--session-guard", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
