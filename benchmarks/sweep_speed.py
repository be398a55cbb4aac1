"""How fast the atomicity sweep runs: faulted runs a second (each one a restore, the request,
a snapshot read through a fresh connection, and the diff), on the reference app's correct
wiring (`shared_session`: 8 statements, one commit, 10 boundaries a request), on both databases.

`python -m benchmarks.sweep_speed` writes reports/bench-sweep.json; `nox -s bench` includes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.tables import table
from examples.sweep_factories import shared_session
from scenarios.databases import KINDS, PostgresUnavailable
from scenarios.sweep import SweepRequest, sweep

REQUESTS = 3  # swept one after another: each starts from the data the one before left
REPEATS = 3
OUTPUT = Path("reports/bench-sweep.json")


def _requests(count: int) -> list[SweepRequest]:
    chat = uuid.UUID(int=0xB0)
    return [
        SweepRequest("POST", f"/sessions/{chat}/messages", {"content": f"turn {turn}"})
        for turn in range(count)
    ]


async def _one(db: str, requests: int) -> dict[str, Any]:
    result = await sweep(shared_session, _requests(requests), db, label="shared_session")
    return {
        "runs": result.runs,
        "runs_s": round(result.runs_s, 3),
        "runs_per_s": round(result.runs_per_second, 1),
        "whole_s": round(result.duration_s, 3),
        "atomic": result.atomic,
    }


def measure_sweep_speed(
    databases: Sequence[str] = KINDS,
    output: Path = OUTPUT,
    requests: int = REQUESTS,
    repeats: int = REPEATS,
) -> dict[str, Any]:
    """Median runs a second per database over `repeats` sweeps; a database that cannot be
    reached is reported as skipped, with the reason."""
    cells: list[dict[str, Any]] = []
    for db in databases:
        try:
            runs = [asyncio.run(_one(db, requests)) for _ in range(repeats)]
        except PostgresUnavailable as unavailable:
            cells.append({"db": db, "skipped": str(unavailable)})
            continue
        cells.append(
            {
                "db": db,
                "app": "examples.sweep_factories:shared_session",
                "requests": requests,
                "runs_per_sweep": runs[0]["runs"],
                "median_runs_per_s": statistics.median(r["runs_per_s"] for r in runs),
                "median_whole_s": statistics.median(r["whole_s"] for r in runs),
                "all_atomic": all(r["atomic"] for r in runs),
                "sweeps": runs,
            }
        )
    report = {
        "benchmark": "sweep_speed",
        "what": "faulted runs a second: restore, request with a fault, snapshot, diff; "
        "whole_s adds the scratch database and the app's start",
        "cells": cells,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def markdown(part: dict[str, Any]) -> list[str]:
    """This part's section of reports/bench.md (`nox -s bench`): `part` holds the measure's
    source and result, or its error."""
    if "result" not in part:
        return ["## Atomicity sweep", "", str(part.get("error")), ""]
    rows = [
        [c["db"], "skipped: " + c["skipped"], "", ""]
        if "skipped" in c
        else [c["db"], c["median_runs_per_s"], c["runs_per_sweep"], c["median_whole_s"]]
        for c in part["result"]["cells"]
    ]
    return [
        "## Atomicity sweep",
        "",
        f"From `{part['source']}()`: {part['result']['what']}.",
        "",
        *table(["db", "runs/s", "runs a sweep", "whole sweep s"], rows),
        "",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_speed", description=__doc__)
    parser.add_argument("--db", action="append", choices=KINDS, help="default: both")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    report = measure_sweep_speed(args.db or KINDS, args.output, args.requests, args.repeats)
    for cell in report["cells"]:
        if "skipped" in cell:
            print(f"{cell['db']}: skipped ({cell['skipped']})")
        else:
            print(
                f"{cell['db']}: {cell['median_runs_per_s']} runs/s "
                f"({cell['runs_per_sweep']} runs a sweep, {cell['median_whole_s']} s whole)"
            )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
