"""The page's data: sections of grid cells, each cell with its timeline when it has one.

Data only flows in: the runner records, the matrix (or the sweep, or the guard flag) hands its
results over as a `Section`, and `write_index` draws `reports/index.html`. Each door writes its
own section; the sections already on the page are kept, so one page shows every door that ran.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios.redaction import redact_tree
from scenarios.reporting.html import render_page
from scenarios.timeline.model import Timeline

if TYPE_CHECKING:
    from scenarios.matrix import MatrixRun

PAGE_FORMAT = 1
INDEX_NAME = "index.html"
SECTION_ORDER = ("matrix", "sweep", "guard")  # the doors' own sections first, in this order


@dataclass(frozen=True)
class GridCell:
    """One case: a row of the grid (a scenario, a request) under one column (`wiring`, `db`).

    `outcome` picks the colour (`ok`, `lost_write`, `fk_violation`, ...; any other word gets a
    neutral one); `verdict` `unexpected` puts a mark on the cell. `step` names the cell's place
    in a `rows` section (a sweep's boundary, `3S`), where each row lists its own cells in order."""

    row: str
    wiring: str
    db: str
    outcome: str
    verdict: str = ""
    expected: str = ""
    detail: str = ""
    guard: str = ""  # the session guard's one line for the case
    responses: tuple[str, ...] = ()
    timeline: Timeline | None = None
    step: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "wiring": self.wiring,
            "db": self.db,
            "outcome": self.outcome,
            "verdict": self.verdict,
            "expected": self.expected,
            "detail": self.detail,
            "guard": self.guard,
            "responses": list(self.responses),
            "timeline": self.timeline.as_dict() if self.timeline else None,
            "step": self.step,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GridCell:
        timeline = data.get("timeline")
        return cls(
            row=str(data["row"]),
            wiring=str(data["wiring"]),
            db=str(data["db"]),
            outcome=str(data["outcome"]),
            verdict=str(data.get("verdict", "")),
            expected=str(data.get("expected", "")),
            detail=str(data.get("detail", "")),
            guard=str(data.get("guard", "")),
            responses=tuple(str(r) for r in data.get("responses", ())),
            timeline=Timeline.from_dict(timeline) if timeline else None,
            step=str(data.get("step", "")),
        )


@dataclass(frozen=True)
class Section:
    """One door's part of the page: `name` (`matrix`, `sweep`, `guard`) replaces the section of
    that name already on the page. `layout` `grid` draws rows x (wiring, db) columns; `rows`
    draws each row's cells in their order (the sweep: a request's boundaries)."""

    name: str
    title: str
    cells: tuple[GridCell, ...]
    summary: str = ""
    notes: tuple[str, ...] = ()
    layout: str = "grid"
    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "notes": list(self.notes),
            "layout": self.layout,
            "generated_at": self.generated_at,
            "cells": [cell.as_dict() for cell in self.cells],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Section:
        return cls(
            name=str(data["name"]),
            title=str(data["title"]),
            cells=tuple(GridCell.from_dict(c) for c in data.get("cells", ())),
            summary=str(data.get("summary", "")),
            notes=tuple(str(n) for n in data.get("notes", ())),
            layout=str(data.get("layout", "grid")),
            generated_at=str(data.get("generated_at", "")),
        )


def matrix_section(run: MatrixRun) -> Section:
    """The matrix run as the page's `matrix` section: one cell per case."""
    cells = tuple(
        GridCell(
            row=r.scenario
            if r.interleaving in ("sequence", "concurrent", "search")
            else f"{r.scenario} [{r.interleaving}]",
            wiring=r.wiring,
            db=r.db,
            outcome=r.observed,
            verdict=r.verdict.value,
            expected=r.expected,
            detail=r.detail,
            guard=r.guard_summary,
            responses=r.responses,
            timeline=r.timeline,
        )
        for r in run.results
    )
    unexpected = len(run.unexpected)
    ran = len(run.results) - len(run.skipped)
    verdict = "PASSED" if ran and not unexpected else "FAILED"
    return Section(
        name="matrix",
        title=f"Regression matrix: {run.target}",
        cells=cells,
        summary=(
            f"{verdict}: {ran - unexpected} as expected, {unexpected} unexpected, "
            f"{len(run.skipped)} skipped, of {len(run.results)} cases in {run.duration_s:.1f} s."
        ),
        notes=tuple(run.notes),
    )


_DATA_BLOCK = re.compile(
    r'<script type="application/json" id="report-data">(?P<data>.*?)</script>', re.DOTALL
)


def read_sections(path: Path) -> list[Section]:
    """The sections on an existing page; none when there is no page or it is not ours."""
    try:
        match = _DATA_BLOCK.search(path.read_text(encoding="utf-8"))
        if match is None:
            return []
        data = json.loads(match["data"])
        if data.get("format") != PAGE_FORMAT:
            return []
        return [Section.from_dict(s) for s in data["sections"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def page_data(sections: Sequence[Section]) -> dict[str, Any]:
    order = {name: i for i, name in enumerate(SECTION_ORDER)}
    ordered = sorted(sections, key=lambda s: order.get(s.name, len(order)))
    data: dict[str, Any] = redact_tree(
        {"format": PAGE_FORMAT, "sections": [s.as_dict() for s in ordered]}
    )
    return data


def write_index(directory: Path, section: Section) -> Path:
    """Add `section` to `directory/index.html` (replacing one of the same name) and redraw it.

    The entry point for every door: the matrix calls it with `matrix_section(run)`; the sweep
    and the guard flag call it with a `Section` of their own cells."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / INDEX_NAME
    sections = [s for s in read_sections(path) if s.name != section.name] + [section]
    path.write_text(render_page(page_data(sections)), encoding="utf-8")
    return path
