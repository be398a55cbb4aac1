"""How the sweep speaks: `sweep.json` (plain data, documented in reports/README.md),
`sweep.md` (per request, one row of boundaries marked by result) and the `sweep` section of
`index.html` (the same rows, coloured and labelled), merged with the sweeps of other app
factories and databases already in the folder, so one file holds the whole picture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.reporting import GridCell, Section, write_index
from scenarios.reporting.runs import replace_run
from scenarios.sweep.runner import BoundaryResult, RequestSweep, SweepResult
from scenarios.sweep.snapshot import Change
from scenarios.sweep.verdicts import SweepVerdict

FORMAT_VERSION = 1
JSON_NAME = "sweep.json"
MD_NAME = "sweep.md"
# A colour for the eye and a letter for whoever cannot tell colours apart (or reads plain text).
MARK = {
    SweepVerdict.OK: "🟩 ok",
    SweepVerdict.PARTIAL_COMMIT: "🟥 **P**",
    SweepVerdict.LOST_WRITE: "🟥 **L**",
    SweepVerdict.ERROR: "🟧 **E**",
    SweepVerdict.NOT_REACHED: "⬜ ?",
}
KIND_LETTER = {"statement": "S", "commit": "C", "response": "R"}
KIND_PLACE = {"statement": "before", "commit": "at", "response": "at the start of"}


def _change(change: Change) -> dict[str, Any]:
    return {"table": change.table, "key": [str(part) for part in change.key], "kind": change.kind}


def _boundary(result: BoundaryResult) -> dict[str, Any]:
    return {
        "index": result.event.index,
        "kind": result.event.kind,
        "sql": result.event.sql,
        "connection": result.event.connection,
        "status": result.status,
        "outcome": str(result.judgement.outcome),
        "detail": result.judgement.detail,
        "changes": [_change(c) for c in result.judgement.changes],
        "struck_sql": result.struck_sql,
    }


def _request(sweep: RequestSweep) -> dict[str, Any]:
    return {
        "request": {
            "method": sweep.request.method,
            "path": sweep.request.path,
            "body": sweep.request.body,
        },
        "atomic": sweep.atomic,
        "first_run": {
            "status": sweep.first_status,
            "outcome": str(sweep.first.outcome),
            "detail": sweep.first.detail,
            "changes": [_change(c) for c in sweep.first.changes],
        },
        "statements": sweep.statements,
        "commits": sweep.commits,
        "timeline": [
            {"index": e.index, "kind": e.kind, "sql": e.sql, "connection": e.connection}
            for e in sweep.timeline
        ],
        "boundaries_total": len(sweep.timeline),
        "boundaries_run": len(sweep.boundaries),
        "sampled": sweep.sampled,
        "stopped": sweep.stopped,
        "boundaries": [_boundary(b) for b in sweep.boundaries],
        "summary": {str(o): n for o in SweepVerdict if (n := sum(x is o for x in sweep.outcomes))},
    }


def to_json(result: SweepResult) -> dict[str, Any]:
    return {
        "app_factory": result.app_factory,
        "db": result.db,
        "database_url": result.database_url,
        "app_kind": result.app_kind,
        "atomic": result.atomic,
        "runs": result.runs,
        "duration_s": round(result.duration_s, 3),
        "runs_s": round(result.runs_s, 3),
        "runs_per_second": round(result.runs_per_second, 1),
        "max_boundaries": result.max_boundaries,
        "requests": [_request(r) for r in result.requests],
    }


def write_reports(result: SweepResult, folder: Path) -> list[Path]:
    """Replace this factory's sweep on this database in sweep.json and sweep.md; keep others."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / JSON_NAME, folder / MD_NAME
    sweeps = replace_run(json_path, "sweeps", to_json(result))
    document = {
        "format": FORMAT_VERSION,
        "atomic": all(s.get("atomic") for s in sweeps),
        "sweeps": sweeps,
    }
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(sweeps), encoding="utf-8")
    return [json_path, md_path, write_index(folder, to_section(sweeps))]


def _request_cells(sweep: dict[str, Any], request: dict[str, Any]) -> list[GridCell]:
    """The run with no fault, then one cell per boundary run, in order."""
    asked = request["request"]
    row = f"{asked['method']} {asked['path']}" + (
        "" if asked["body"] is None else " " + json.dumps(asked["body"])
    )

    def cell(step: str, run: dict[str, Any], detail: str) -> GridCell:
        return GridCell(
            row=row,
            wiring=sweep["app_factory"],
            db=sweep["db"],
            outcome=run["outcome"],
            detail=detail,
            responses=(f"HTTP {run['status']}",),
            step=step,
        )

    first = request["first_run"]
    cells = [cell("no fault", first, f"no fault injected: {first['detail']}")]
    for b in request["boundaries"]:
        struck = f" (it met {b['struck_sql']})" if b.get("struck_sql") else ""
        where = f"fault {KIND_PLACE[b['kind']]} {b['sql']}{struck}"
        cells.append(cell(f"{b['index']}{KIND_LETTER[b['kind']]}", b, f"{where}: {b['detail']}"))
    return cells


def to_section(sweeps: list[dict[str, Any]]) -> Section:
    """The page's `sweep` section: per request, a row of its boundaries coloured by result."""
    cells: list[GridCell] = []
    notes: list[str] = []
    requests = atomic = 0
    for sweep in sweeps:
        for request in sweep["requests"]:
            cells += _request_cells(sweep, request)
            requests += 1
            atomic += bool(request["atomic"])
            where = f"{sweep['app_factory']} on {sweep['db']}, {request['request']['method']} "
            where += request["request"]["path"]
            if request.get("stopped"):
                notes.append(f"{where}: stopped, {request['stopped']}.")
            if request["sampled"]:
                notes.append(
                    f"{where}: sampled, {request['boundaries_run']} of "
                    f"{request['boundaries_total']} boundaries run (every commit and the "
                    "response, statements evenly spaced)."
                )
    verdict = "PASSED" if requests and atomic == requests else "FAILED"
    return Section(
        name="sweep",
        title="Atomicity sweep: a fault at every boundary of each request",
        cells=tuple(cells),
        summary=(
            f"{verdict}: {atomic} of {requests} request(s) atomic at every boundary, "
            f"across {len(sweeps)} sweep(s) (app factory x database)."
        ),
        notes=tuple(notes),
        layout="rows",
    )


def to_markdown(sweeps: list[dict[str, Any]]) -> str:
    lines = [
        "# Atomicity sweep",
        "",
        "A fault before each statement (S), at each commit (C) and at the start of the 2xx "
        "response (R) of each request, one run each, from the same starting data. "
        f"{MARK[SweepVerdict.OK]}: nothing stayed, or all of the request's writes (fault after its "
        f"last commit); {MARK[SweepVerdict.PARTIAL_COMMIT]} `partial_commit`; "
        f"{MARK[SweepVerdict.LOST_WRITE]} `lost_write` (2xx, rows missing); "
        f"{MARK[SweepVerdict.ERROR]} `error` (failed with no fault); "
        f"{MARK[SweepVerdict.NOT_REACHED]} `not_reached` (the rerun never met that boundary).",
        "",
    ]
    for sweep in sweeps:
        verdict = "atomic at every boundary" if sweep["atomic"] else "NOT atomic"
        lines += [
            f"## `{sweep['app_factory']}` on {sweep['db']}: {verdict}",
            "",
            f"{sweep['app_kind'].upper()} app, {sweep['runs']} runs in {sweep['runs_s']} s "
            f"({sweep['runs_per_second']} runs/s; {sweep['duration_s']} s with the scratch "
            f"database and the app's start), database {sweep['database_url']}.",
            "",
        ]
        for request in sweep["requests"]:
            lines += _request_markdown(request)
    return "\n".join(lines) + "\n"


def _request_markdown(request: dict[str, Any]) -> list[str]:
    asked = request["request"]
    body = "" if asked["body"] is None else " " + json.dumps(asked["body"])
    first = request["first_run"]
    lines = [
        f"### `{asked['method']} {asked['path']}{body}`",
        "",
        f"No fault: HTTP {first['status']}, `{first['outcome']}` ({first['detail']}). "
        f"{request['statements']} statements, {request['commits']} commit(s): "
        f"{request['boundaries_run']} of {request['boundaries_total']} boundaries run.",
        "",
    ]
    if request.get("stopped"):
        lines += [f"**Stopped**: {request['stopped']}.", ""]
    if request["sampled"]:
        lines += [
            f"**Sampled**: {request['boundaries_total']} boundaries exceed the cap; every commit "
            "and the response were run, and statements evenly spaced between the first and last.",
            "",
        ]
    boundaries = request["boundaries"]
    if boundaries:
        header = [f"{b['index']}{KIND_LETTER[b['kind']]}" for b in boundaries]
        marks = [MARK[SweepVerdict(b["outcome"])] for b in boundaries]
        lines += [
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            "| " + " | ".join(marks) + " |",
            "",
        ]
    bad = [b for b in boundaries if b["outcome"] != "ok"]
    if bad:
        lines += ["| boundary | before | HTTP | outcome | detail |", "|---|---|---|---|---|"]
        for b in bad:
            sql = b["sql"].replace("|", "\\|")
            detail = b["detail"].replace("|", "\\|")
            lines.append(
                f"| {b['index']}{KIND_LETTER[b['kind']]} | `{sql}` | {b['status']} | "
                f"`{b['outcome']}` | {detail} |"
            )
        lines.append("")
    return lines
