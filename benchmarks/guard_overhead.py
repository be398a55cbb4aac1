"""What the session guard costs a request: the reference app's correct wiring, one POST at a
time through the ASGI app, timed with the guard's listeners removed and with every request
wrapped in a guard unit (as the runner does). The target is at most 10% overhead.

`python -m benchmarks.guard_overhead` measures it on a scratch SQLite file and a scratch
Postgres database and writes reports/bench-guard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from reference_app.serving import serve
from scenarios.databases import KINDS, PostgresUnavailable, open_scratch_database
from scenarios.guard import runtime
from scenarios.guard.runtime import SessionGuard

TARGET_RATIO = 1.10
WIRING = "shared_session"  # a correct request: the guard's cost when it finds nothing
WARMUP = 20


async def _batch(client: httpx.AsyncClient, requests: int, *, guarded: bool) -> float:
    """Seconds per request over `requests` sequential POSTs."""
    started = time.perf_counter()
    for _ in range(requests):
        path = f"/sessions/{uuid.uuid4()}/messages"
        if guarded:
            with SessionGuard("collect", label="bench", noun="request") as unit:
                response = await client.post(path, json={"content": "bench"})
            if unit.findings:
                raise RuntimeError(f"the guard found something on {WIRING}: {unit.summary}")
        else:
            response = await client.post(path, json={"content": "bench"})
        if response.status_code != 201:
            raise RuntimeError(f"request failed: HTTP {response.status_code} {response.text}")
    return (time.perf_counter() - started) / requests


async def measure_guard_overhead(
    database_url: str, requests: int = 200, repeats: int = 5
) -> dict[str, float]:
    """Median seconds per request without and with the guard, and the overhead: the median
    of the ratios of adjacent batches (without, then with), so drift in the machine's load
    between batches hits both sides of each ratio alike."""
    was_installed = runtime.installed()
    try:
        async with serve(database_url, WIRING) as served:
            client = served.client
            runtime.install()
            await _batch(client, WARMUP, guarded=True)
            without: list[float] = []
            with_guard: list[float] = []
            for _ in range(repeats):
                runtime.uninstall()
                without.append(await _batch(client, requests, guarded=False))
                runtime.install()
                with_guard.append(await _batch(client, requests, guarded=True))
    finally:
        if not was_installed:
            runtime.uninstall()
    ratio = statistics.median(g / w for g, w in zip(with_guard, without, strict=True))
    return {
        "without_guard_s": statistics.median(without),
        "with_guard_s": statistics.median(with_guard),
        "ratio": ratio,
        "overhead_pct": (ratio - 1) * 100,
        "requests": float(requests),
        "repeats": float(repeats),
    }


async def _measure_all(requests: int, repeats: int) -> dict[str, Any]:
    results: dict[str, Any] = {"target_ratio": TARGET_RATIO, "wiring": WIRING, "databases": {}}
    for kind in KINDS:
        try:
            async with open_scratch_database(kind) as database:
                figures = await measure_guard_overhead(database.url, requests, repeats)
        except PostgresUnavailable as unavailable:
            results["databases"][kind] = {"skipped": str(unavailable)}
            continue
        figures["within_target"] = figures["ratio"] <= TARGET_RATIO
        results["databases"][kind] = figures
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.guard_overhead", description=__doc__
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per batch")
    parser.add_argument("--repeats", type=int, default=5, help="batches with and without")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-guard.json"))
    args = parser.parse_args(argv)
    results = asyncio.run(_measure_all(args.requests, args.repeats))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for kind, figures in results["databases"].items():
        if "skipped" in figures:
            print(f"{kind}: skipped ({figures['skipped']})")
        else:
            print(
                f"{kind}: {figures['without_guard_s'] * 1000:.2f} ms/request without the guard, "
                f"{figures['with_guard_s'] * 1000:.2f} ms with it: {figures['overhead_pct']:+.1f}%"
            )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
