"""One real matrix run of the reference app (every scenario, wiring and database; no stateful
search) shared by the page's tests, and its reports written to a folder of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from reference_app.adapter import TARGET
from scenarios.databases import KINDS
from scenarios.matrix import MatrixRun, run_matrix
from scenarios.report import write_reports
from scenarios.scenario import load_pack


@pytest_asyncio.fixture(scope="session")
async def matrix_run() -> MatrixRun:
    return await run_matrix(
        TARGET, wirings=list(TARGET.wirings), databases=list(KINDS), scenarios=load_pack()
    )


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
