"""How long the throwaway PostgreSQL server (scenarios.embedded_postgres) takes to start and to
be removed: the price a machine with no server pays once per run."""

from __future__ import annotations

import statistics
import time
from typing import Any

from scenarios import embedded_postgres


def measure_embedded_start(repeats: int) -> dict[str, Any]:
    """Start and stop a server `repeats` times; medians, with each run kept."""
    if not embedded_postgres.available():
        return {"unavailable": f"not installed: {embedded_postgres.install_hint()}"}
    runs = []
    version = ""
    for _ in range(repeats):
        server = embedded_postgres.start()
        version = server.version
        stopping = time.perf_counter()
        server.stop()
        runs.append(
            {
                "start_s": round(server.start_s, 3),
                "stop_s": round(time.perf_counter() - stopping, 3),
            }
        )
    return {
        "postgres_version": version,
        "what": "supervisor process + initdb + postgres until ready; stop = shutdown + removal",
        "median_start_s": round(statistics.median(r["start_s"] for r in runs), 3),
        "median_stop_s": round(statistics.median(r["stop_s"] for r in runs), 3),
        "runs": runs,
    }
