"""One report from many: the matrix split across CI jobs (one `cell(...)` nox session each)
comes back together as one reports/matrix.json, matrix.md and JUnit file.

`python -m scenarios merge-reports reports/cell-* --reports reports/merged` reads each
folder's matrix.json, refuses a cell that two folders both ran, and writes the merged run with
the same writers as `python -m scenarios run` (stateful-*.md pages are copied beside it).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from scenarios.case_result import CaseResult
from scenarios.guard import GuardFinding
from scenarios.matrix import MatrixRun
from scenarios.outcomes import Verdict

MATRIX_JSON = "matrix.json"


class MergeError(ValueError):
    """A report folder that cannot be merged; the message names the folder and why."""


def case_from_dict(cell: dict[str, Any]) -> CaseResult:
    """The CaseResult a matrix.json cell was written from (fields it lacks keep defaults)."""
    values: dict[str, Any] = {}
    for spec in fields(CaseResult):
        if spec.name not in cell:
            continue
        value = cell[spec.name]
        if isinstance(value, list) and spec.default == ():
            value = tuple(value)
        values[spec.name] = value
    values["verdict"] = Verdict(cell["verdict"])
    values["guard_findings"] = tuple(
        GuardFinding.from_dict(f) for f in cell.get("session_guard_findings") or ()
    )
    return CaseResult(**values)


def read_run(folder: Path) -> MatrixRun:
    """The run a folder's matrix.json describes; MergeError when it is missing or malformed."""
    path = folder / MATRIX_JSON
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        run = MatrixRun(
            target=str(document["target"]),
            databases=dict(document.get("databases") or {}),
            notes=list(document.get("notes") or []),
            duration_s=float(document.get("duration_s") or 0.0),
        )
        run.results = [case_from_dict(cell) for cell in document["cells"]]
    except FileNotFoundError:
        raise MergeError(f"{folder}: no {MATRIX_JSON} (did that job run the matrix?)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MergeError(f"{path}: not a matrix report ({type(error).__name__}: {error})") from None
    return run


def merge_runs(runs: Sequence[tuple[Path, MatrixRun]]) -> MatrixRun:
    """One run holding every cell; the shards ran side by side, so its duration is the longest."""
    if not runs:
        raise MergeError("no report folders to merge")
    targets = sorted({run.target for _, run in runs})
    if len(targets) > 1:
        raise MergeError(f"the reports are of different targets: {', '.join(targets)}")
    merged = MatrixRun(target=targets[0])
    ran_in: dict[str, Path] = {}
    for folder, run in runs:
        for result in run.results:
            if result.id in ran_in:
                raise MergeError(f"{result.id} is in both {ran_in[result.id]} and {folder}")
            ran_in[result.id] = folder
            merged.results.append(result)
        merged.databases.update(run.databases)
        merged.notes += [note for note in run.notes if note not in merged.notes]
        merged.duration_s = max(merged.duration_s, run.duration_s)
    merged.notes.append(f"merged from {len(runs)} report folder(s)")
    return merged


def copy_pages(folders: Sequence[Path], destination: Path) -> list[Path]:
    """The stateful search pages (stateful-WIRING-DB.md) of every folder, beside the merge."""
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for folder in folders:
        for page in sorted(folder.glob("stateful-*.md")):
            target = destination / page.name
            if page.resolve() != target.resolve():
                shutil.copyfile(page, target)
            copied.append(target)
    return copied
