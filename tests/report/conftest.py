"""The suite's one real matrix run of the reference app (every scenario, wiring and database; no
stateful search, `reference_matrix` in tests/conftest.py) shared by the page's tests, and its
reports written to a folder of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scenarios.matrix import MatrixRun
from scenarios.reporting.matrix import write_reports


@pytest.fixture(scope="session")
def matrix_run(reference_matrix: MatrixRun) -> MatrixRun:
    return reference_matrix


@pytest.fixture(scope="session")
def matrix_reports(matrix_run: MatrixRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the run's reports were written to (matrix.json, index.html, ...)."""
    folder = tmp_path_factory.mktemp("reports")
    write_reports(matrix_run, folder)
    return folder


@pytest.fixture(scope="session")
def matrix_cells(matrix_reports: Path) -> list[dict[str, Any]]:
    """matrix.json's cells: what the page must show, read from the public report."""
    cells: list[dict[str, Any]] = json.loads((matrix_reports / "matrix.json").read_text())["cells"]
    return cells
