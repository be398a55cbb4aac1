"""Draws the page from its data: one self-contained HTML file (styles and script inline, no
network), with the grid drawn here so it reads and prints without script, and the timelines
drawn by the inline script from the JSON block the page carries."""

from __future__ import annotations

import json
import re
from collections import Counter
from html import escape
from importlib.resources import files
from typing import Any

# Outcomes with a colour of their own; any other word gets the neutral `outcome-other`.
OUTCOMES = (
    "ok",
    "lost_write",
    "fk_violation",
    "lock_timeout",
    "partial_commit",
    "split_exchange",
    "leaked_connection",
    "error",
    "skipped",
)


def outcome_class(outcome: str) -> str:
    return f"outcome-{outcome}" if outcome in OUTCOMES else "outcome-other"


def _asset(name: str) -> str:
    return files("scenarios.reporting").joinpath(name).read_text(encoding="utf-8")


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _cell(cell: dict[str, Any], section: int, index: int, first: bool) -> str:
    outcome = str(cell["outcome"])
    unexpected = cell.get("verdict") == "unexpected"
    classes = ["cell", outcome_class(outcome)] + (["unexpected"] if unexpected else [])
    mark = '<span class="mark" aria-hidden="true">!</span>' if unexpected else ""
    step = str(cell.get("step") or "")
    label = f"{cell['row']}, {cell['wiring']}, {cell['db']}{', ' + step if step else ''}: {outcome}"
    if unexpected:
        label += f", unexpected (expected {cell.get('expected') or 'something else'})"
    if cell.get("timeline"):
        label += ", has a timeline"
    step_label = f'<span class="step">{escape(step)}</span>' if step else ""
    expected = (
        f'<span class="expected">expected {escape(str(cell.get("expected", "")))}</span>'
        if unexpected
        else ""
    )
    return (
        f'<td class="{" ".join(classes)}" data-wiring="{_attr(cell["wiring"])}" '
        f'data-db="{_attr(cell["db"])}" data-outcome="{_attr(outcome)}">'
        f'<button type="button" class="cell-button" data-section="{section}" '
        f'data-case="{index}" tabindex="{0 if first else -1}" aria-label="{_attr(label)}">'
        f"{step_label}"
        f'<span class="label">{escape(outcome)}</span>{mark}{expected}</button></td>'
    )


def _options(name: str, values: list[str], label: str = "") -> str:
    options = "".join(f'<option value="{_attr(v)}">{escape(v)}</option>' for v in values)
    return (
        f'<label>{label or name} <select data-filter="{name}">'
        f'<option value="">all</option>{options}</select></label>'
    )


def _grid_table(cells: list[dict[str, Any]], number: int, title: str) -> str:
    """Rows x (wiring, db) columns: the matrix."""
    rows = list(dict.fromkeys(c["row"] for c in cells))
    columns = list(dict.fromkeys((c["wiring"], c["db"]) for c in cells))
    at = {(c["row"], c["wiring"], c["db"]): i for i, c in enumerate(cells)}
    head = "".join(
        f'<th scope="col" data-wiring="{_attr(w)}" data-db="{_attr(d)}">'
        f'{escape(w)}<br><span class="db">{escape(d)}</span></th>'
        for w, d in columns
    )
    body = []
    first = True
    for row in rows:
        tds = []
        for wiring, db in columns:
            index = at.get((row, wiring, db))
            if index is None:
                tds.append(
                    f'<td class="cell empty" data-wiring="{_attr(wiring)}" '
                    f'data-db="{_attr(db)}" data-outcome="">-</td>'
                )
            else:
                tds.append(_cell(cells[index], number, index, first))
                first = False
        body.append(
            f'<tr><th scope="row" title="{_attr(row)}">{escape(row)}</th>{"".join(tds)}</tr>'
        )
    return f"""<div class="grid-wrap"><table class="grid" aria-label="{_attr(title)}">
<thead><tr><th scope="col">case</th>{head}</tr></thead>
<tbody>{"".join(body)}</tbody></table></div>"""


def _rows_table(cells: list[dict[str, Any]], number: int, title: str) -> str:
    """Each (row, wiring, db) its own row of cells in their order, labelled by `step`: the
    sweep's requests, each a row of its boundaries."""
    rows: dict[tuple[str, str, str], list[int]] = {}
    for index, cell in enumerate(cells):
        rows.setdefault((cell["row"], cell["wiring"], cell["db"]), []).append(index)
    width = max((len(indexes) for indexes in rows.values()), default=0)
    body = []
    first = True
    for (row, wiring, db), indexes in rows.items():
        tds = "".join(_cell(cells[i], number, i, first and n == 0) for n, i in enumerate(indexes))
        first = False
        body.append(
            f'<tr><th scope="row" title="{_attr(row)}">{escape(row)}<br>'
            f'<span class="db">{escape(wiring)} on {escape(db)}</span></th>{tds}</tr>'
        )
    return f"""<div class="grid-wrap"><table class="grid steps" aria-label="{_attr(title)}">
<thead><tr><th scope="col">request</th><th scope="colgroup" colspan="{width}">in order: the
run with no fault, then a fault at each boundary (S before a statement, C at a commit, R at
the 2xx response)</th></tr></thead>
<tbody>{"".join(body)}</tbody></table></div>"""


def _section(data: dict[str, Any], number: int) -> str:
    cells: list[dict[str, Any]] = data["cells"]
    wirings = list(dict.fromkeys(c["wiring"] for c in cells))
    dbs = list(dict.fromkeys(c["db"] for c in cells))
    counts = Counter(str(c["outcome"]) for c in cells)
    unexpected = sum(c.get("verdict") == "unexpected" for c in cells)
    legend = "".join(
        f'<li><span class="swatch {outcome_class(o)}" aria-hidden="true"></span>'
        f"{escape(o)} ({n})</li>"
        for o, n in sorted(
            counts.items(),
            key=lambda item: OUTCOMES.index(item[0]) if item[0] in OUTCOMES else len(OUTCOMES),
        )
    )
    if any(c.get("verdict") for c in cells):  # a section with verdicts (the matrix)
        legend += (
            '<li><span class="swatch marked" aria-hidden="true"><span class="mark">!</span>'
            f"</span>unexpected verdict ({unexpected})</li>"
        )
    rows_layout = data.get("layout") == "rows"
    table = (_rows_table if rows_layout else _grid_table)(cells, number, data["title"])
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in data.get("notes", ()))
    slug = _slug(data["name"])
    wiring_filter = _options("wiring", wirings, "app" if rows_layout else "")
    return f"""<section class="report-section" id="section-{slug}" data-section="{number}">
<h2>{escape(data["title"])}</h2>
<p class="summary">{escape(data.get("summary", ""))}
<span class="generated">({escape(data.get("generated_at", ""))})</span></p>{notes}
<div class="filters" role="group" aria-label="Filter the grid">
{wiring_filter} {_options("database", dbs)} {_options("outcome", sorted(counts))}
</div>
<ul class="legend" aria-label="Legend">{legend}</ul>
<p class="hint">Arrow keys move between cells; Enter opens a cell's timeline, Escape closes it.</p>
{table}
</section>"""


def _json_for_script(data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(data: dict[str, Any]) -> str:
    sections = "\n".join(_section(s, i) for i, s in enumerate(data["sections"]))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Two-sessions harness report</title>
<style>
{_asset("page.css")}
</style>
</head>
<body>
<header><h1>Two-sessions harness report</h1>
<p>Every case as a cell, coloured by what was observed. Click a cell that is not
<code>ok</code> to see its timeline: one lane per database session, the statements each sent,
its flushes, commit or rollback, the error where it struck, and the HTTP responses.</p></header>
<main>
{sections}
<section id="timeline" class="timeline-panel" hidden aria-labelledby="timeline-title">
<div class="timeline-bar"><h2 id="timeline-title" tabindex="-1">Timeline</h2>
<button type="button" id="timeline-close">Close (Esc)</button></div>
<div id="timeline-body"></div>
</section>
</main>
<script type="application/json" id="report-data">{_json_for_script(data)}</script>
<script>
{_asset("page.js")}
</script>
</body>
</html>
"""
