"""Report writers: matrix.json, matrix.md, JUnit XML, the GitHub step summary, and the page
(index.html, drawn by `scenarios.reporting`).

Every string that leaves through here passes `redact`, so a database password never reaches a
report even if an error message quoted a URL.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from scenarios.matrix import MatrixRun
from scenarios.outcomes import Verdict
from scenarios.redaction import redact, redact_tree
from scenarios.reporting import matrix_section, write_index
from scenarios.runner import CaseResult

REPORT_FORMAT = 1


# What a verdict can depend on: FastAPI >= 0.118 runs get_db's code after `yield` after the
# response, FastAPI >= 0.121 has `Depends(scope=...)`; the drivers and ORM decide the rest.
RECORDED_DISTRIBUTIONS = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "aiomysql",
    "pymysql",
)


def library_versions() -> dict[str, str]:
    """The installed version of each recorded distribution (the ones present)."""
    found = {}
    for name in RECORDED_DISTRIBUTIONS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def summary(run: MatrixRun) -> dict[str, Any]:
    counts = Counter(r.verdict.value for r in run.results)
    return {
        "cases": len(run.results),
        "as_expected": counts[Verdict.AS_EXPECTED.value],
        "unexpected": counts[Verdict.UNEXPECTED.value],
        "skipped": counts[Verdict.SKIPPED.value],
        "passed": not run.unexpected and bool(run.results),
    }


def matrix_document(run: MatrixRun) -> dict[str, Any]:
    document: dict[str, Any] = redact_tree(
        {
            "format": REPORT_FORMAT,
            "target": run.target,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "duration_s": round(run.duration_s, 3),
            "databases": run.databases,
            "versions": library_versions(),
            "notes": run.notes,
            "summary": summary(run),
            "cells": [r.as_dict() for r in run.results],
        }
    )
    return document


def _axes(run: MatrixRun) -> tuple[list[str], list[str], list[str]]:
    wirings = list(dict.fromkeys(r.wiring for r in run.results))
    dbs = list(dict.fromkeys(r.db for r in run.results))
    scenarios = list(dict.fromkeys(r.scenario for r in run.results))
    return wirings, dbs, scenarios


def _cell_text(results: list[CaseResult]) -> str:
    if not results:
        return ""
    if all(r.verdict is Verdict.SKIPPED for r in results):
        return "⏭ skipped"
    unexpected = [r for r in results if r.verdict is Verdict.UNEXPECTED]
    outcomes = Counter(r.observed for r in results if r.verdict is not Verdict.SKIPPED)
    shown = ", ".join(
        outcome if len(outcomes) == 1 and n == 1 else f"{outcome} x{n}"
        for outcome, n in outcomes.most_common()
    )
    if unexpected:
        expected = ", ".join(sorted({r.expected.replace("|", " or ") for r in unexpected}))
        return f"❌ {shown} (expected {expected})"
    return f"✅ {shown}"


def _glance_table(run: MatrixRun) -> list[str]:
    wirings, dbs, _ = _axes(run)
    by_cell: dict[tuple[str, str], list[CaseResult]] = defaultdict(list)
    for result in run.results:
        by_cell[result.wiring, result.db].append(result)
    lines = [
        "| wiring | " + " | ".join(dbs) + " |",
        "|---|" + "---|" * len(dbs),
    ]
    for wiring in wirings:
        cells = []
        for db in dbs:
            results = by_cell[wiring, db]
            if results and all(r.verdict is Verdict.SKIPPED for r in results):
                cells.append("⏭ skipped")
                continue
            ran = [r for r in results if r.verdict is not Verdict.SKIPPED]
            bad = sum(r.verdict is Verdict.UNEXPECTED for r in ran)
            outcomes = Counter(r.observed for r in ran)
            mix = ", ".join(f"{o} {n}" for o, n in outcomes.most_common())
            mark = "❌" if bad else "✅"
            text = f"{mark} {len(ran) - bad}/{len(ran)} as expected ({mix})"
            if len(ran) < len(results):
                text += f", {len(results) - len(ran)} skipped"
            cells.append(text)
        lines.append(f"| `{wiring}` | " + " | ".join(cells) + " |")
    return lines


def _scenario_table(run: MatrixRun) -> list[str]:
    wirings, dbs, scenarios = _axes(run)
    columns = [(w, d) for w in wirings for d in dbs]
    grouped: dict[tuple[str, str, str], list[CaseResult]] = defaultdict(list)
    for result in run.results:
        grouped[result.scenario, result.wiring, result.db].append(result)
    lines = [
        "| scenario | " + " | ".join(f"{w}<br>{d}" for w, d in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for scenario in scenarios:
        cells = [_cell_text(grouped[scenario, w, d]) for w, d in columns]
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return lines


def markdown_summary(run: MatrixRun) -> str:
    facts = summary(run)
    verdict = "PASSED" if facts["passed"] else "FAILED"
    lines = [
        f"# Two-sessions regression matrix: {run.target}",
        "",
        f"**{verdict}**: {facts['as_expected']} as expected, {facts['unexpected']} unexpected, "
        f"{facts['skipped']} skipped, of {facts['cases']} cases in {run.duration_s:.1f} s.",
        "",
        *(f"> {note}" for note in run.notes),
        *([""] if run.notes else []),
        "## Wiring x database",
        "",
        *_glance_table(run),
        "",
    ]
    return redact("\n".join(lines))


def _guard_lines(run: MatrixRun) -> list[str]:
    """One line per case in which the session guard found something; nothing when none did."""
    found = [r for r in run.results if r.guard_findings]
    if not found:
        return []
    return [
        "## Session guard",
        "",
        "Cases whose requests used more than one session or pooled connection, lost flushed "
        "rows, or kept a connection (see `session_guard_findings` in matrix.json).",
        "",
        *(f"- `{r.id}`: {r.guard_summary}" for r in found),
        "",
    ]


def markdown_document(run: MatrixRun) -> str:
    lines = [
        markdown_summary(run),
        "## Scenarios",
        "",
        "Each cell shows the observed outcome (xN for interleavings); ❌ marks a verdict of "
        "`unexpected`, with the outcome that was expected.",
        "",
        *_scenario_table(run),
        "",
        *_guard_lines(run),
        "## Databases",
        "",
        *(f"- {kind}: `{where}`" for kind, where in run.databases.items()),
        "",
        "## Versions",
        "",
        ", ".join(f"{name} {number}" for name, number in library_versions().items()),
        "",
    ]
    unexpected = run.unexpected
    if unexpected:
        lines += ["## Unexpected cases", ""]
        for result in unexpected:
            lines += [
                f"### {result.id}",
                "",
                f"- guards against: {result.guards}",
                f"- expected `{result.expected}`, observed `{result.observed}`",
                f"- steps: {' -> '.join(result.steps)}",
                f"- responses: {', '.join(result.responses)}",
                f"- detail: {result.detail}",
                f"- rows a fresh connection found: `{json.dumps(result.rows, ensure_ascii=False)}`",
                "",
            ]
    return redact("\n".join(lines))


def junit_document(run: MatrixRun) -> ET.ElementTree:
    root = ET.Element("testsuites", name=f"scenarios {run.target}")
    by_suite: dict[str, list[CaseResult]] = defaultdict(list)
    for result in run.results:
        by_suite[f"{result.wiring}-{result.db}"].append(result)
    for suite_name, results in by_suite.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=suite_name,
            tests=str(len(results)),
            failures=str(sum(r.verdict is Verdict.UNEXPECTED for r in results)),
            skipped=str(sum(r.verdict is Verdict.SKIPPED for r in results)),
            time=f"{sum(r.duration_s for r in results):.3f}",
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"scenarios.{result.wiring}.{result.db}",
                name=f"{result.scenario}[{result.interleaving}]",
                time=f"{result.duration_s:.3f}",
            )
            if result.verdict is Verdict.SKIPPED:
                ET.SubElement(case, "skipped", message=redact(result.detail))
            elif result.verdict is Verdict.UNEXPECTED:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=redact(f"expected {result.expected}, observed {result.observed}"),
                )
                failure.text = redact(
                    f"{result.detail}\nrows: {json.dumps(result.rows, ensure_ascii=False)}"
                )
    return ET.ElementTree(root)


def write_reports(run: MatrixRun, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    json_path = directory / "matrix.json"
    json_path.write_text(
        json.dumps(matrix_document(run), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md_path = directory / "matrix.md"
    md_path.write_text(markdown_document(run), encoding="utf-8")
    junit_path = directory / "junit-matrix.xml"
    junit_document(run).write(junit_path, encoding="utf-8", xml_declaration=True)
    written += [json_path, md_path, junit_path, write_index(directory, matrix_section(run))]
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as file:
            file.write(markdown_summary(run) + "\n" + "\n".join(_scenario_table(run)) + "\n")
    return written
