"""Was the machine busy, and how fast is it? The load average at the start and end of a benchmark
run, judged, so a reader knows when the figures are noise (a shared 2-core machine often is);
and the time of a fixed pure-Python loop, so figures from two machines compare at all (the same
commit's default matrix took 13-16 s on one machine of this project and 37-41 s on another,
whose loop was that much slower)."""

from __future__ import annotations

import os
import time
from typing import Any

# Before the run, anything above half a core is someone else's work; at the end, the bench's
# own process accounts for about one core of the 1-minute average.
BUSY_AT_START_PER_CPU = 0.5
BUSY_AT_END_PER_CPU = 1.0


REFERENCE_LOOP_ADDITIONS = 10_000_000
REFERENCE_LOOP_REPEATS = 3


def reference_loop_s(repeats: int = REFERENCE_LOOP_REPEATS) -> float:
    """The best of `repeats` timings of one fixed pure-Python loop (10 million additions): how
    fast one core of this machine runs Python; the best, because a neighbour only slows it."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for number in range(REFERENCE_LOOP_ADDITIONS):
            total += number
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def speed_markdown(loop_s: float | None) -> list[str]:
    if loop_s is None:
        return []
    return [
        f"One core's speed: a fixed pure-Python loop of {REFERENCE_LOOP_ADDITIONS:,} additions "
        f"took {loop_s} s (best of {REFERENCE_LOOP_REPEATS}). Compare figures from another "
        "machine only after scaling by this.",
        "",
    ]


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where the system has none)."""
    if not hasattr(os, "getloadavg"):
        return []
    return [round(value, 2) for value in os.getloadavg()]


def judge_load(start: list[float], end: list[float], cpus: int | None = None) -> dict[str, Any]:
    """Both readings and whether either says the machine was busy (and why)."""
    cpus = cpus or os.cpu_count() or 1
    reasons = []
    if start and start[0] > BUSY_AT_START_PER_CPU * cpus:
        reasons.append(f"1-min load {start[0]} at the start, above {BUSY_AT_START_PER_CPU * cpus}")
    if end and end[0] > BUSY_AT_END_PER_CPU * cpus + 1:
        reasons.append(
            f"1-min load {end[0]} at the end, above {BUSY_AT_END_PER_CPU * cpus + 1} "
            "(the bench's own core included)"
        )
    return {"start": start, "end": end, "cpus": cpus, "busy": bool(reasons), "why": reasons}


def load_markdown(load: dict[str, Any] | None) -> list[str]:
    if not load or "busy" not in load:
        return []
    text = (
        f"Load average (1, 5, 15 min): {load['start']} at the start, {load['end']} at the end, "
        f"on {load['cpus']} CPUs."
    )
    if load["busy"]:
        text = (
            "**The machine was busy: read these figures as noise, not as the harness's speed** "
            f"({'; '.join(load['why'])}). " + text
        )
    else:
        text += " The machine was quiet enough for the figures to mean something."
    return [text, ""]
