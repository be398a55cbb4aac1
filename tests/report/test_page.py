"""reports/index.html is one self-contained, small file drawn from the run's own data; each
door adds its section without erasing the others'."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from scenarios.reporting import GridCell, Section, read_sections, write_index
from scenarios.timeline import EventKind, Lane, Timeline, TimelineEvent

MAX_PAGE_BYTES = 1_000_000


class _Cells(HTMLParser):
    """The grid's case cells (`td` elements with a button), with their classes."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "td" and "cell" in found.get("class", "").split():
            self.cells.append(found)
        for name in ("src", "href"):
            if name in found:
                self.links.append(found[name])
        if tag == "link":
            self.links.append(found.get("href", "link"))


def parse(path: Path) -> _Cells:
    parser = _Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_matrix_run_writes_the_page_with_one_cell_per_case(
    matrix_reports: Path, matrix_cells: list[dict[str, Any]]
) -> None:
    page = parse(matrix_reports / "index.html")
    drawn = [c for c in page.cells if "empty" not in c["class"].split()]

    assert len(drawn) == len(matrix_cells)
    shown = sorted((c["data-wiring"], c["data-db"], c["data-outcome"]) for c in drawn)
    assert shown == sorted((c["wiring"], c["db"], c["observed"]) for c in matrix_cells)
    for cell in drawn:
        assert f"outcome-{cell['data-outcome']}" in cell["class"].split()


def test_the_page_is_self_contained_and_small(matrix_reports: Path) -> None:
    path = matrix_reports / "index.html"
    text = path.read_text(encoding="utf-8")

    assert path.stat().st_size < MAX_PAGE_BYTES
    assert parse(path).links == []  # no stylesheet, script, image or font to fetch
    assert not re.search(r"\b(?:https?:)?//[\w.-]+\.[a-z]{2,}/", text)
    assert "@import" not in text


def test_every_non_ok_case_carries_its_timeline(matrix_reports: Path) -> None:
    (section,) = read_sections(matrix_reports / "index.html")
    not_ok = [c for c in section.cells if c.outcome not in ("ok", "skipped")]
    scenario_cases = [c for c in not_ok if c.row != "stateful"]

    assert scenario_cases
    assert all(c.timeline is not None for c in scenario_cases)
    assert all(c.timeline is None for c in section.cells if c.outcome == "ok")


def _section(name: str, detail: str = "") -> Section:
    timeline = Timeline(
        (Lane("http", "HTTP responses"), Lane("A", "session A", "app.py:3", "r1")),
        (TimelineEvent("A", EventKind.STATEMENT, "INSERT t"),),
    )
    cell = GridCell(
        "request 1",
        "before statement 1",
        "sqlite",
        "partial_commit",
        detail=detail,
        timeline=timeline,
    )
    return Section(name, f"{name} results", (cell, GridCell("r2", "w", "sqlite", "ok")))


def test_a_door_adds_its_section_and_keeps_the_others(tmp_path: Path) -> None:
    write_index(tmp_path, _section("sweep"))
    write_index(tmp_path, _section("matrix"))
    write_index(tmp_path, _section("guard"))
    write_index(tmp_path, _section("sweep", detail="run again"))

    sections = read_sections(tmp_path / "index.html")
    assert [s.name for s in sections] == ["matrix", "sweep", "guard"]
    assert sections[1].cells[0].detail == "run again"
    drawn = [c for c in parse(tmp_path / "index.html").cells if c["data-outcome"]]
    assert len(drawn) == 6
    assert sections[0].cells[0].timeline is not None


def test_a_page_that_is_not_ours_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>something else</html>", encoding="utf-8")

    write_index(tmp_path, _section("matrix"))

    assert [s.name for s in read_sections(tmp_path / "index.html")] == ["matrix"]


def test_passwords_and_markup_in_the_data_stay_inert(tmp_path: Path) -> None:
    detail = "</script><script>alert(1)</script> postgresql://app:hunter2@db:5432/x"
    path = write_index(tmp_path, _section("matrix", detail=detail))
    text = path.read_text(encoding="utf-8")

    assert "hunter2" not in text
    assert "<script>alert" not in text
    assert text.count("</script>") == 2  # the data block and the page's own script
    (section,) = read_sections(path)
    assert section.cells[0].detail.startswith("</script><script>alert(1)</script>")


def test_an_unexpected_verdict_is_marked_with_what_was_expected(tmp_path: Path) -> None:
    cells = (
        GridCell("s", "w", "sqlite", "lost_write", verdict="unexpected", expected="ok"),
        GridCell(
            "s", "w", "postgresql", "lost_write", verdict="as_expected", expected="lost_write"
        ),
    )
    text = write_index(tmp_path, Section("matrix", "m", cells)).read_text(encoding="utf-8")
    drawn = [c for c in parse(tmp_path / "index.html").cells if c["data-outcome"]]

    assert [c["class"].split() for c in drawn] == [
        ["cell", "outcome-lost_write", "unexpected"],
        ["cell", "outcome-lost_write"],
    ]
    assert text.count('<span class="mark" aria-hidden="true">!</span>') == 1
    assert '<span class="expected">expected ok</span>' in text
    assert "unexpected verdict (1)" in text
