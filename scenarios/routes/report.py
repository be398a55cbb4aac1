"""How the route door speaks: `routes.json` (plain data), `routes.md` (a table per run, then each
finding with its site) and the `routes` section of `index.html`; runs of other app factories and
databases already in the folder are kept, as the sweep keeps its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.reporting import GridCell, Section, write_index
from scenarios.reporting.runs import replace_run
from scenarios.routes.run import RoutesResult
from scenarios.routes.verdicts import RouteVerdict

FORMAT_VERSION = 1
JSON_NAME = "routes.json"
MD_NAME = "routes.md"


def _verdict(verdict: RouteVerdict) -> dict[str, Any]:
    return {
        "route": verdict.route,
        "outcome": verdict.outcome,
        "requests": verdict.requests,
        "statuses": {str(s): n for s, n in sorted(verdict.statuses.items())},
        "reached": verdict.reached,
        "unreached_reason": verdict.unreached_reason,
        "problems": [str(p) for p in verdict.problems],
        "findings": [
            {
                "problem": str(f.problem),
                "source": f.source,
                "request": f.request,
                "message": f.message,
                "site": f.site,
            }
            for f in verdict.findings
        ],
        "notes": verdict.notes,
        "swept_request": verdict.swept,
        "sweep": verdict.sweep_summary,
    }


def to_json(result: RoutesResult) -> dict[str, Any]:
    return {
        "app_factory": result.app_factory,
        "db": result.db,
        "database_url": result.database_url,
        "app_kind": result.app_kind,
        "clean": result.clean,
        "routes_found": len(result.verdicts),
        "routes_reached": result.reached,
        "requests": result.requests,
        "duration_s": round(result.duration_s, 2),
        "requests_s": round(result.drive_s, 2),
        "sweep_s": round(result.sweep_s, 2),
        "limits": {
            "examples": result.limits.examples,
            "budget_s": result.limits.budget_s,
            "max_boundaries": result.limits.max_boundaries,
            "seed": result.limits.seed,
            "sweep": result.limits.sweep,
        },
        "notes": result.notes,
        "routes": [_verdict(v) for v in result.verdicts],
    }


def write_reports(result: RoutesResult, folder: Path) -> list[Path]:
    """Replace this factory's run on this database in routes.json and routes.md; keep others."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / JSON_NAME, folder / MD_NAME
    runs = replace_run(json_path, "runs", to_json(result))
    document = {"format": FORMAT_VERSION, "clean": all(r.get("clean") for r in runs), "runs": runs}
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(runs), encoding="utf-8")
    return [json_path, md_path, write_index(folder, to_section(runs))]


def _detail(route: dict[str, Any]) -> str:
    if route["findings"]:
        return " | ".join(
            f"{f['problem']} ({f['source']}, {f['request']}): {f['message']}"
            for f in route["findings"]
        )
    if not route["reached"]:
        return f"not reached: {route['unreached_reason']}"
    return "every request clean" + (f"; sweep: {route['sweep']}" if route["sweep"] else "")


def to_section(runs: list[dict[str, Any]]) -> Section:
    cells = [
        GridCell(
            row=route["route"],
            wiring=run["app_factory"],
            db=run["db"],
            outcome=route["outcome"],
            detail=_detail(route),
            responses=tuple(f"HTTP {s} x{n}" for s, n in route["statuses"].items()),
        )
        for run in runs
        for route in run["routes"]
    ]
    bad = sum(1 for c in cells if c.outcome not in ("ok", "not_reached"))
    unreached = sum(1 for c in cells if c.outcome == "not_reached")
    verdict = "PASSED" if not bad else "FAILED"
    return Section(
        name="routes",
        title="Every write route: generated requests under the guard, one swept per route",
        cells=tuple(cells),
        summary=(
            f"{verdict}: {bad} route(s) with findings, {unreached} not reached, of {len(cells)} "
            f"across {len(runs)} run(s) (app factory x database)."
        ),
        notes=tuple(note for run in runs for note in run["notes"]),
    )


def to_markdown(runs: list[dict[str, Any]]) -> str:
    lines = [
        "# Every write route",
        "",
        "Requests Schemathesis generated from the app's OpenAPI schema, each one unit of the "
        "session guard, then one 2xx request per route through the atomicity sweep.",
        "",
    ]
    for run in runs:
        verdict = "clean" if run["clean"] else "FINDINGS"
        lines += [
            f"## `{run['app_factory']}` on {run['db']}: {verdict}",
            "",
            f"{run['routes_reached']} of {run['routes_found']} write routes reached, "
            f"{run['requests']} requests in {run['requests_s']} s, sweep {run['sweep_s']} s; "
            f"database {run['database_url']}.",
            "",
            "| route | outcome | requests | statuses | detail |",
            "|---|---|---|---|---|",
        ]
        for route in run["routes"]:
            statuses = ", ".join(f"{s} x{n}" for s, n in route["statuses"].items())
            detail = _detail(route).replace("|", "\\|").replace("\n", " ")
            lines.append(
                f"| `{route['route']}` | `{route['outcome']}` | {route['requests']} | "
                f"{statuses} | {detail} |"
            )
        lines.append("")
        lines += [f"- {note}" for note in run["notes"]]
        if run["notes"]:
            lines.append("")
    return "\n".join(lines) + "\n"
