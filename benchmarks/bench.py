"""`nox -s bench`: every figure in one run, written to reports/bench.json and reports/bench.md.

- the load (500 concurrent requests over 50 chat sessions) per wiring and database: latency
  p50/p95/p99 and throughput, with what each run acknowledged and lost;
- one request at a time through each wiring against the same SQL through the raw driver
  (asyncpg, aiosqlite) with no ORM: the ratio is the cost of ORM + FastAPI + wiring;
- the session guard's overhead, the Hypothesis examples, the atomicity sweep's runs a
  second and what the pytest plugin costs a pytest start when unused (their own modules);
- the wall time of the default matrix (`python -m scenarios run --quiet`), as a subprocess.

Every figure is a median over `--repeats` runs; the machine may be shared, so read them as
rough, and compare ratios rather than absolute times. Nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.exc import SQLAlchemyError

from benchmarks import guard_overhead, lint_speed, stateful_speed, sweep_speed
from benchmarks.audit import percentile
from benchmarks.case_floor import case_floor_markdown, measure_case_ratios
from benchmarks.embedded_start import measure_embedded_start
from benchmarks.load import (
    FULL_REQUESTS,
    FULL_SESSIONS,
    LoadPlan,
    run_load,
    seed_history,
    send_one,
    serving,
)
from benchmarks.machine_load import (
    judge_load,
    load_average,
    load_markdown,
    reference_loop_s,
    speed_markdown,
)
from benchmarks.plugin_start import markdown as plugin_start_markdown
from benchmarks.plugin_start import measure_plugin_start
from benchmarks.profiling import profile_markdown, profile_matrix
from benchmarks.raw_driver import raw_request
from benchmarks.tables import table
from reference_app.infrastructure.database import create_engine, create_session_maker
from reference_app.serving import empty_tables
from reference_app.wirings import WIRINGS, module_for
from scenarios.databases import KINDS, Database, PostgresUnavailable, open_scratch_database
from scenarios.inputs import (
    BadInput,
    OneLineParser,
    check_creatable_folder,
    check_environment,
    count_flag,
    exit_bad_input,
)

FIXED_WIRINGS = ("shared_session", "unit_of_work")
TARGET_RATIO = 2.0  # fixed wirings vs the raw driver, one request at a time
SEQUENTIAL_REQUESTS = 100
SEQUENTIAL_SESSIONS = 10
WARMUP_REQUESTS = 5
MATRIX_LIMIT_S = 600.0
BASELINE = "raw driver"
NO_HTTP = " (no HTTP)"


@dataclass(frozen=True)
class Options:
    requests: int = FULL_REQUESTS
    sessions: int = FULL_SESSIONS
    repeats: int = 3
    matrix_repeats: int = 3
    databases: tuple[str, ...] = KINDS
    wirings: tuple[str, ...] = tuple(WIRINGS)
    reports: Path = Path("reports")
    skip: frozenset[str] = frozenset()  # parts to leave out: load, baseline, matrix, ...


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


# --- the load -------------------------------------------------------------------------------


async def _load_runs(options: Options, databases: dict[str, Database]) -> list[dict[str, Any]]:
    plan = LoadPlan(options.requests, options.sessions)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for repeat in range(options.repeats):
        for kind, database in databases.items():
            for wiring in options.wirings:
                audit = await run_load(database, wiring, plan)
                latencies = audit.latencies_s
                ok_latencies = [s.latency_s for s in audit.sent if s.acknowledged]
                runs.setdefault((kind, wiring), []).append(
                    {
                        "repeat": repeat,
                        "p50_ms": _ms(percentile(latencies, 50)),
                        "p95_ms": _ms(percentile(latencies, 95)),
                        "p99_ms": _ms(percentile(latencies, 99)),
                        "max_ms": _ms(audit.max_latency_s),
                        "acknowledged_p50_ms": _ms(percentile(ok_latencies, 50)),
                        "wall_s": round(audit.wall_s, 3),
                        "requests_per_s": round(len(latencies) / audit.wall_s, 1),
                        "acknowledged_per_s": round(audit.acknowledged / audit.wall_s, 1),
                        "acknowledged": audit.acknowledged,
                        "failed": audit.failed,
                        "stored": audit.stored,
                        "failures_by_code": audit.failures_by_code(),
                        "findings": {k: audit.count(k) for k in audit.findings},
                        "longest_statement_ms": _ms(audit.longest_statement_s),
                    }
                )
                print(
                    f"  load {kind:<10} {wiring:<15} run {repeat + 1}/{options.repeats}: "
                    f"{audit.acknowledged}/{options.requests} acknowledged in "
                    f"{audit.wall_s:.2f} s",
                    flush=True,
                )
    cells = []
    for (kind, wiring), cell_runs in runs.items():
        median = {
            key: round(_median([r[key] for r in cell_runs]), 2)
            for key in (
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "max_ms",
                "acknowledged_p50_ms",
                "requests_per_s",
                "acknowledged_per_s",
                "acknowledged",
                "failed",
                "stored",
                "longest_statement_ms",
            )
        }
        median["lost"] = _median([r["findings"].get("lost", 0) for r in cell_runs])
        median["partial"] = _median([r["findings"].get("partial", 0) for r in cell_runs])
        cells.append({"db": kind, "wiring": wiring, "median": median, "runs": cell_runs})
    return cells


# --- one request at a time: each wiring against the raw driver --------------------------------


Send = Callable[[uuid.UUID, str], Awaitable[bool]]


@asynccontextmanager
async def _subject(database: Database, subject: str) -> AsyncIterator[Send]:
    """One request's way in: the raw driver, a wiring through HTTP, or a wiring's use case
    called directly (no HTTP), which splits the cost between FastAPI and the ORM."""
    if subject == BASELINE:
        async with raw_request(database) as raw:

            async def through_driver(session_id: uuid.UUID, content: str) -> bool:
                try:
                    await raw(session_id, content)
                except (asyncpg.PostgresError, sqlite3.Error):
                    return False
                return True

            yield through_driver
    elif subject.endswith(NO_HTTP):
        engine = create_engine(database.url)
        try:
            session_maker = create_session_maker(engine)
            module = module_for(subject.removesuffix(NO_HTTP))(session_maker)

            async def through_use_case(session_id: uuid.UUID, content: str) -> bool:
                try:
                    async with session_maker() as db, module.provide_use_case(db) as use_case:
                        await use_case.execute(session_id, content)
                except SQLAlchemyError:
                    return False
                return True

            yield through_use_case
        finally:
            await engine.dispose()
    else:
        async with serving(database, subject) as app:

            async def through_http(session_id: uuid.UUID, content: str) -> bool:
                return (await send_one(app.client, 0, session_id, content)).acknowledged

            yield through_http


async def _sequential(database: Database, subject: str) -> dict[str, Any]:
    """Latency of one request at a time over the load's mix of existing and new chat sessions,
    after a few warm-up requests (connections, prepared statements)."""
    plan = LoadPlan(SEQUENTIAL_REQUESTS, SEQUENTIAL_SESSIONS)
    await empty_tables(database.url)
    ids = [uuid.uuid4() for _ in range(plan.sessions)]
    await seed_history(database, ids[: plan.existing_sessions])
    latencies: list[float] = []
    failed = 0
    async with _subject(database, subject) as send:
        for i in range(WARMUP_REQUESTS):
            await send(uuid.uuid4(), f"warm-up {i}")
        for i in range(plan.requests):
            started = time.perf_counter()
            failed += not await send(ids[i % plan.sessions], f"request {i}")
            latencies.append(time.perf_counter() - started)
    return {
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "failed": failed,
    }


async def _baseline_runs(options: Options, databases: dict[str, Database]) -> list[dict[str, Any]]:
    subjects = [BASELINE, *options.wirings]
    subjects += [f"{w}{NO_HTTP}" for w in options.wirings if w in FIXED_WIRINGS]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _repeat in range(options.repeats):
        for kind, database in databases.items():
            for subject in subjects:
                result = await _sequential(database, subject)
                runs.setdefault((kind, subject), []).append(result)
    cells: list[dict[str, Any]] = []
    for (kind, subject), subject_runs in runs.items():
        cells.append(
            {
                "db": kind,
                "subject": subject,
                "p50_ms": round(_median([r["p50_ms"] for r in subject_runs]), 3),
                "p95_ms": round(_median([r["p95_ms"] for r in subject_runs]), 3),
                "failed": _median([r["failed"] for r in subject_runs]),
                "runs": subject_runs,
            }
        )
    for cell in cells:
        base = next(c for c in cells if c["db"] == cell["db"] and c["subject"] == BASELINE)
        cell["ratio_p50"] = round(cell["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None
        cell["within_target"] = (
            None
            if cell["subject"].removesuffix(NO_HTTP) not in FIXED_WIRINGS
            or cell["ratio_p50"] is None
            else cell["ratio_p50"] <= TARGET_RATIO
        )
    return cells


# --- the default matrix, and the measurements other modules own --------------------------------


def _matrix_runs(options: Options) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for _repeat in range(options.matrix_repeats):
        with tempfile.TemporaryDirectory(prefix="bench-matrix-") as folder:
            command = [sys.executable, "-m", "scenarios", "run", "--quiet", "--reports", folder]
            started = time.perf_counter()
            cpu_before = _children_cpu_s()
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=MATRIX_LIMIT_S, check=False
                )
                code: int | str = done.returncode
                tail = (done.stdout or done.stderr).strip().splitlines()[-1:]
            except subprocess.TimeoutExpired:
                code, tail = "timeout", [f"no result within {MATRIX_LIMIT_S:.0f} s"]
            runs.append(
                {
                    "wall_s": round(time.perf_counter() - started, 2),
                    # user + system CPU of the run and its search workers: on a shared machine
                    # the figure to compare before and after a change, where wall time is noise.
                    "cpu_s": round(_children_cpu_s() - cpu_before, 2),
                    "exit_code": code,
                    "summary": tail[0] if tail else "",
                    "unexpected": _unexpected_cases(Path(folder) / "matrix.json"),
                }
            )
        print(
            f"  matrix run {len(runs)}: {runs[-1]['wall_s']} s, {runs[-1]['cpu_s']} s of CPU, "
            f"exit {code}",
            flush=True,
        )
    return {
        "command": "python -m scenarios run --quiet --reports <tmpdir>",
        "median_wall_s": round(_median([r["wall_s"] for r in runs]), 2),
        "median_cpu_s": round(_median([r["cpu_s"] for r in runs]), 2),
        "runs": runs,
    }


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _unexpected_cases(matrix_json: Path) -> list[str]:
    """Which cases of a matrix run were unexpected, so a failing run says why."""
    try:
        document = json.loads(matrix_json.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    cases = document.get("cells", []) if isinstance(document, dict) else []
    return [
        f"{c.get('db')} {c.get('wiring')} {c.get('scenario')}[{c.get('interleaving')}]: "
        f"expected {c.get('expected')}, observed {c.get('observed')}"
        for c in cases
        if isinstance(c, dict) and c.get("verdict") == "unexpected"
    ]


def _source(measure: Callable[..., Any]) -> str:
    """Where a figure comes from, as the report names it (`benchmarks.x.measure_x`)."""
    return f"{measure.__module__}.{measure.__name__}"


async def _guard_overhead(databases: dict[str, Database]) -> dict[str, Any]:
    """`measure_guard_overhead(database_url)` on each scratch database."""
    measure = guard_overhead.measure_guard_overhead
    part: dict[str, Any] = {
        "source": _source(measure),
        "target_ratio": guard_overhead.TARGET_RATIO,
        "databases": {},
    }
    for kind, database in databases.items():
        try:
            part["databases"][kind] = await measure(database.url)
        except Exception as error:  # noqa: BLE001 - a part's failure is reported, not fatal to the run
            part["databases"][kind] = {"error": f"{type(error).__name__}: {error}"}
    return part


def _stateful_speed(options: Options) -> dict[str, Any]:
    """`measure_stateful_speed(...)`: its own scratch databases and event loops."""
    measure = stateful_speed.measure_stateful_speed
    try:
        result = measure(
            databases=options.databases,
            output=options.reports / stateful_speed.DEFAULT_OUTPUT.name,
        )
    except Exception as error:  # noqa: BLE001 - a part's failure is reported, not fatal to the run
        return {"error": f"{type(error).__name__}: {error}"}
    return {"source": _source(measure), "result": result}


def _sweep_speed(options: Options) -> dict[str, Any]:
    """`measure_sweep_speed(databases, output)`: the atomicity sweep's runs a second."""
    measure = sweep_speed.measure_sweep_speed
    try:
        result = measure(databases=options.databases, output=options.reports / "bench-sweep.json")
    except Exception as error:  # noqa: BLE001 - a part's failure is reported, not fatal to the run
        return {"error": f"{type(error).__name__}: {error}"}
    return {"source": _source(measure), "result": result}


def _lint_speed(options: Options) -> dict[str, Any]:
    """`measure_lint_speed(...)`: the static check's files a second; no database."""
    measure = lint_speed.measure_lint_speed
    try:
        result = measure(repeats=options.repeats, output=options.reports / "bench-lint.json")
    except Exception as error:  # noqa: BLE001 - a part's failure is reported, not fatal to the run
        return {"error": f"{type(error).__name__}: {error}"}
    return {"source": _source(measure), "result": result}


def _plugin_start(options: Options) -> dict[str, Any]:
    """pytest's start with the harness's plugin, unused (benchmarks/plugin_start.py)."""
    try:
        result = measure_plugin_start(output=options.reports / "bench-plugin-start.json")
    except Exception as error:  # noqa: BLE001 - a part's failure is reported, not fatal to the run
        return {"error": f"{type(error).__name__}: {error}"}
    return {"result": result}


# --- the whole run ---------------------------------------------------------------------------


async def _database_parts(options: Options, report: dict[str, Any]) -> None:
    async with AsyncExitStack() as stack:
        databases: dict[str, Database] = {}
        for kind in options.databases:
            try:
                databases[kind] = await stack.enter_async_context(open_scratch_database(kind))
            except PostgresUnavailable as unavailable:
                report["skipped"][kind] = str(unavailable)
        report["databases"] = {kind: db.display_url for kind, db in databases.items()}
        if "load" not in options.skip:
            print("load: concurrent requests per wiring and database", flush=True)
            report["load"]["cells"] = await _load_runs(options, databases)
        if "baseline" not in options.skip:
            print("baseline: one request at a time, each wiring vs the raw driver", flush=True)
            report["baseline"]["cells"] = await _baseline_runs(options, databases)
        if "case_floor" not in options.skip:
            print(
                "case_floor: each scenario case in the harness vs its raw-driver floor", flush=True
            )
            report["case_floor"] = await measure_case_ratios(databases, repeats=options.repeats)
        if "guard_overhead" not in options.skip:
            print("guard_overhead: " + _source(guard_overhead.measure_guard_overhead), flush=True)
            report["guard_overhead"] = await _guard_overhead(databases)


def run_bench(options: Options) -> dict[str, Any]:
    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "bench",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "machine_load": {"start": load_average()},
        "note": "medians over repeated runs on a possibly shared machine: noisy; compare ratios",
        "repeats": options.repeats,
        "skipped": {},
        "load": {
            "requests": options.requests,
            "sessions": options.sessions,
            "existing_sessions": LoadPlan(options.requests, options.sessions).existing_sessions,
            "client": "one asyncio client, all requests at once, httpx.ASGITransport",
        },
        "baseline": {
            "requests": SEQUENTIAL_REQUESTS,
            "sessions": SEQUENTIAL_SESSIONS,
            "what": "one request at a time; the raw driver sends the same SQL with no ORM and "
            "no HTTP; ratio = wiring p50 / raw driver p50",
            "target_ratio_fixed_wirings": TARGET_RATIO,
        },
    }
    asyncio.run(_database_parts(options, report))
    if "stateful_speed" not in options.skip:
        print("stateful_speed: " + _source(stateful_speed.measure_stateful_speed), flush=True)
        report["stateful_speed"] = _stateful_speed(options)
    if "sweep_speed" not in options.skip:
        print("sweep_speed: " + _source(sweep_speed.measure_sweep_speed), flush=True)
        report["sweep_speed"] = _sweep_speed(options)
    if "embedded_postgres" not in options.skip:
        print("embedded_postgres: start and removal of the throwaway server", flush=True)
        report["embedded_postgres"] = measure_embedded_start(options.repeats)
    if "lint_speed" not in options.skip:
        print("lint_speed: " + _source(lint_speed.measure_lint_speed), flush=True)
        report["lint_speed"] = _lint_speed(options)
    if "plugin_start" not in options.skip:
        print("plugin_start: pytest's start with the plugin, unused", flush=True)
        report["plugin_start"] = _plugin_start(options)
    if "matrix" not in options.skip:
        print("matrix: the default scenario matrix as a subprocess", flush=True)
        report["matrix"] = _matrix_runs(options)
    if "profile" not in options.skip:
        print("profile: py-spy over one default matrix run", flush=True)
        report["profile"] = profile_matrix()
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["machine"]["reference_loop_s"] = reference_loop_s()
    report["machine_load"] = judge_load(report["machine_load"]["start"], load_average())
    return report


LOAD_COLUMNS = {
    "p50 ms": "p50_ms",
    "p95 ms": "p95_ms",
    "p99 ms": "p99_ms",
    "requests/s": "requests_per_s",
    "acknowledged/s": "acknowledged_per_s",
    "acknowledged": "acknowledged",
    "stored": "stored",
    "lost": "lost",
    "partial": "partial",
}


def _load_markdown(load: dict[str, Any]) -> list[str]:
    rows = [
        [
            c["db"],
            c["wiring"],
            *(c["median"][key] for key in LOAD_COLUMNS.values()),
            ", ".join(f"{code} x{n}" for code, n in c["runs"][0]["failures_by_code"].items()),
        ]
        for c in load["cells"]
    ]
    return [
        f"## Load: {load['requests']} concurrent requests over {load['sessions']} chat sessions "
        f"({load['existing_sessions']} with history)",
        "",
        *table(["db", "wiring", *LOAD_COLUMNS, "failures (first run)"], rows),
        "Latency covers every request, acknowledged or not. Failures on the fixed wirings are "
        "clear retryable 409s (racing requests on one chat session); `lost` = acknowledged but "
        "not stored; `partial` = failed, yet something of it committed. `503 pool_timeout`: "
        "no pooled connection came free within the app's bound (5 s); two_sessions holds two "
        "connections per request and starves the pool.",
        "",
    ]


def _baseline_markdown(baseline: dict[str, Any]) -> list[str]:
    within = {None: "", True: "yes", False: "no"}
    rows = [
        [
            c["db"],
            c["subject"],
            c["p50_ms"],
            c["p95_ms"],
            c["ratio_p50"],
            within[c["within_target"]],
            c["failed"],
        ]
        for c in baseline["cells"]
    ]
    return [
        f"## One request at a time vs the raw driver ({baseline['requests']} requests over "
        f"{baseline['sessions']} chat sessions)",
        "",
        "The raw driver sends the same SQL in one transaction with no ORM and no HTTP; "
        '"(no HTTP)" calls the wiring\'s use case directly, so the difference to the row above '
        "it is FastAPI + httpx. Information only: the target is per scenario case (below), "
        "what a user of the pack waits for.",
        "",
        *table(["db", "subject", "p50 ms", "p95 ms", "ratio (p50)", "within 2x", "failed"], rows),
    ]


def _plugin_start_markdown(part: dict[str, Any]) -> list[str]:
    if "result" not in part:
        return ["## pytest start with the harness's plugin, unused", "", str(part["error"]), ""]
    return plugin_start_markdown(part["result"])


def render_markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated {report['generated_at']} by `nox -s bench` on Python {machine['python']}, "
        f"{machine['cpus']} CPUs. Figures are medians over {report['repeats']} runs on a "
        "possibly shared machine: compare ratios rather than milliseconds.",
        "",
        *load_markdown(report.get("machine_load")),
        *speed_markdown(machine.get("reference_loop_s")),
    ]
    for kind, reason in report["skipped"].items():
        lines += [f"**{kind} skipped**: {reason}", ""]
    if "cells" in report["load"]:
        lines += _load_markdown(report["load"])
    if "cells" in report["baseline"]:
        lines += _baseline_markdown(report["baseline"])
    if "case_floor" in report:
        lines += case_floor_markdown(report["case_floor"])
    if "guard_overhead" in report:
        lines += guard_overhead.markdown(report["guard_overhead"])
    if "stateful_speed" in report:
        lines += stateful_speed.markdown(report["stateful_speed"])
    if "sweep_speed" in report:
        lines += sweep_speed.markdown(report["sweep_speed"])
    embedded = report.get("embedded_postgres")
    if embedded:
        lines += [
            "## Embedded PostgreSQL",
            "",
            str(embedded["unavailable"])
            if "unavailable" in embedded
            else f"Throwaway PostgreSQL {embedded['postgres_version']}: start (supervisor, "
            f"initdb, server ready) median **{embedded['median_start_s']} s**, stop and removal "
            f"{embedded['median_stop_s']} s, over {len(embedded['runs'])} runs.",
            "",
        ]
    if "lint_speed" in report:
        lines += lint_speed.markdown(report["lint_speed"])
    if "plugin_start" in report:
        lines += _plugin_start_markdown(report["plugin_start"])
    matrix = report.get("matrix")
    if matrix:
        runs = ", ".join(
            f"{r['wall_s']} s, {r.get('cpu_s', '?')} s of CPU (exit {r['exit_code']})"
            for r in matrix["runs"]
        )
        lines += [
            "## Default matrix",
            "",
            f"`{matrix['command']}`: median **{matrix['median_wall_s']} s**, "
            f"{matrix.get('median_cpu_s', '?')} s of CPU ({runs}).",
            "",
        ]
    if "profile" in report:
        lines += profile_markdown(report["profile"])
    databases = ", ".join(f"{k} `{v}`" for k, v in report.get("databases", {}).items())
    lines += [
        f"Scratch databases, removed after the run: {databases}.",
        "",
        f"Whole benchmark run: {report['wall_s']} s.",
    ]
    return "\n".join(lines) + "\n"


def write_reports(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    as_json, as_markdown = folder / "bench.json", folder / "bench.md"
    as_json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    as_markdown.write_text(render_markdown(report), "utf-8")
    return as_json, as_markdown


PARTS = (
    "load",
    "baseline",
    "case_floor",
    "guard_overhead",
    "stateful_speed",
    "sweep_speed",
    "embedded_postgres",
    "lint_speed",
    "plugin_start",
    "matrix",
    "profile",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--requests", type=count_flag(1), default=FULL_REQUESTS)
    parser.add_argument("--sessions", type=count_flag(1), default=FULL_SESSIONS)
    parser.add_argument("--repeats", type=count_flag(1), default=3, help="runs per figure")
    parser.add_argument("--matrix-repeats", type=count_flag(0), default=3)
    parser.add_argument("--db", action="append", choices=KINDS, help="default: both")
    parser.add_argument("--wiring", action="append", choices=list(WIRINGS), help="default: all")
    parser.add_argument("--skip", action="append", choices=PARTS, default=[])
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    try:
        check_environment()
        check_creatable_folder("--reports", args.reports)
    except BadInput as error:
        exit_bad_input(error, parser.prog)
    options = Options(
        requests=args.requests,
        sessions=args.sessions,
        repeats=args.repeats,
        matrix_repeats=args.matrix_repeats,
        databases=tuple(args.db or KINDS),
        wirings=tuple(args.wiring or WIRINGS),
        reports=args.reports,
        skip=frozenset(args.skip),
    )
    report = run_bench(options)
    for path in write_reports(report, options.reports):
        print(f"wrote {path}")
    return 0
