"""What a user of the pack feels: each scenario case's time in the harness next to its floor.

The harness's time is the case as `python -m scenarios run` runs it (reset, seed, the requests
through the adapter, the read-back through a fresh connection, the classification). The floor
is the least any harness could spend on the same case: the same statements through the raw
driver (`benchmarks.raw_driver`, one transaction per request, on one reused connection) for
every seeded exchange and every request that reaches the database, plus one read of the three
tables through a fresh connection. Rejected input costs the floor nothing (it never reaches
SQL); a request with an injected fault is counted as a whole request, so the floor is generous
there. The ratio harness / floor is the harness's cost per case; its target is TARGET_RATIO.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiosqlite
import asyncpg
from sqlalchemy.engine import make_url

from benchmarks.raw_driver import RawRequest, raw_request
from reference_app.adapter import TARGET
from scenarios.databases import CONNECT_TIMEOUT_S, Database
from scenarios.runner import run_scenarios
from scenarios.scenario import Scenario, load_pack

TARGET_RATIO = 2.0
WIRINGS = ("shared_session", "unit_of_work")
READ_TABLES = ("sessions", "messages", "agent_contexts")


async def fresh_connection_read(database: Database) -> None:
    """Open a connection of its own, read every row of the three tables, close it."""
    url = make_url(database.url)
    if database.kind == "sqlite":
        assert url.database
        async with aiosqlite.connect(url.database) as lite:
            for table in READ_TABLES:
                async with lite.execute(f"SELECT * FROM {table}") as cursor:
                    await cursor.fetchall()
        return
    connection = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        timeout=CONNECT_TIMEOUT_S,
    )
    try:
        for table in READ_TABLES:
            await connection.fetch(f"SELECT * FROM {table}")
    finally:
        await connection.close()


async def _floor_once(database: Database, send: RawRequest, scenario: Scenario) -> float:
    """The floor of one case: its statements through the raw driver, then one fresh read."""
    keys = {alias: uuid.uuid4() for alias in _aliases(scenario)}
    started = time.perf_counter()
    for seed in scenario.seeds:
        for message in seed.messages:
            if message.role == "user":
                await send(keys[seed.session], message.content or "seeded")
    for request in scenario.requests:
        if request.rejected_field is None and isinstance(request.content, str):
            await send(keys[request.session], request.content)
    await fresh_connection_read(database)
    return time.perf_counter() - started


def _aliases(scenario: Scenario) -> set[str]:
    return {s.session for s in scenario.seeds} | {r.session for r in scenario.requests}


async def measure_case_ratios(
    databases: dict[str, Database],
    *,
    wirings: Sequence[str] = WIRINGS,
    repeats: int = 1,
    scenarios: Sequence[Scenario] | None = None,
) -> dict[str, Any]:
    """Per database and fixed wiring: every case's harness time, its floor, and the ratio
    (medians over `repeats`), summarised as the median and worst ratio."""
    pack = list(scenarios if scenarios is not None else load_pack(()))
    cells: list[dict[str, Any]] = []
    for kind, database in databases.items():
        floors: dict[str, list[float]] = {}
        async with raw_request(database) as send:
            await create_reference_schema(database)
            for _ in range(repeats):
                for scenario in pack:
                    floors.setdefault(scenario.name, []).append(
                        await _floor_once(database, send, scenario)
                    )
        for wiring in wirings:
            harness: dict[str, list[float]] = {}
            async with TARGET.open(wiring, database) as target:
                for _ in range(repeats):
                    for result in await run_scenarios(
                        target, pack, wiring=wiring, db=kind, expected_outcome=_any_outcome
                    ):
                        key = f"{result.scenario}[{result.interleaving}]"
                        harness.setdefault(key, []).append(result.duration_s)
            cases: list[dict[str, Any]] = []
            for key, times in harness.items():
                floor = statistics.median(floors[key.split("[", 1)[0]])
                spent = statistics.median(times)
                cases.append(
                    {
                        "case": key,
                        "harness_ms": round(spent * 1000, 2),
                        "floor_ms": round(floor * 1000, 2),
                        "ratio": round(spent / floor, 2) if floor > 0 else None,
                    }
                )
            ratios: list[float] = sorted(c["ratio"] for c in cases if c["ratio"] is not None)
            cells.append(
                {
                    "db": kind,
                    "wiring": wiring,
                    "cases": len(cases),
                    "median_ratio": round(statistics.median(ratios), 2) if ratios else None,
                    "worst_ratio": ratios[-1] if ratios else None,
                    "within_target": (statistics.median(ratios) <= TARGET_RATIO)
                    if ratios
                    else None,
                    "harness_total_ms": round(sum(c["harness_ms"] for c in cases), 1),
                    "floor_total_ms": round(sum(c["floor_ms"] for c in cases), 1),
                    "worst_cases": sorted(cases, key=lambda c: -(c["ratio"] or 0))[:5],
                    "all_cases": cases,
                }
            )
    return {"target_ratio": TARGET_RATIO, "repeats": repeats, "cells": cells}


async def create_reference_schema(database: Database) -> None:
    """The reference app's tables, so the floor can run before any wiring has opened."""
    from reference_app.infrastructure.database import create_engine, create_schema

    engine = create_engine(database.url)
    try:
        await create_schema(engine)
    finally:
        await engine.dispose()


def _any_outcome(*_args: object) -> str:
    """The bench times cases; verdicts are the matrix's business, so any outcome is fine."""
    return "ok|lost_write|fk_violation|lock_timeout|partial_commit|error"


def case_floor_markdown(part: dict[str, Any]) -> list[str]:
    rows = [
        [
            c["db"],
            c["wiring"],
            c["cases"],
            c["harness_total_ms"],
            c["floor_total_ms"],
            c["median_ratio"],
            c["worst_ratio"],
            {None: "", True: "yes", False: "no"}[c["within_target"]],
        ]
        for c in part["cells"]
    ]
    worst = [
        [c["db"], c["wiring"], w["case"], w["harness_ms"], w["floor_ms"], w["ratio"]]
        for c in part["cells"]
        for w in c["worst_cases"][:3]
    ]
    return [
        "## Each scenario case: the harness vs its floor",
        "",
        "What a user of the pack waits for. The floor of a case is the same statements through "
        "the raw driver (one transaction per request that reaches the database, seeds included) "
        "plus one read of the three tables through a fresh connection; the harness's time is "
        "the case as the matrix runs it (reset, seed, requests through the adapter, read-back, "
        f"classification). Target: median ratio at most {part['target_ratio']}x.",
        "",
        *_table(
            [
                "db",
                "wiring",
                "cases",
                "harness ms (sum)",
                "floor ms (sum)",
                "median ratio",
                "worst ratio",
                "within target",
            ],
            rows,
        ),
        "",
        "The worst cases are the interleavings that, by design, make one request wait out a "
        "bounded lock (SQLite's busy timeout, Postgres's lock_timeout: 0.2 s) before it answers "
        "with a retryable 409; the floor sends the same statements one after another and never "
        "waits.",
        "",
        *_table(["db", "wiring", "case", "harness ms", "floor ms", "ratio"], worst),
        "",
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines
