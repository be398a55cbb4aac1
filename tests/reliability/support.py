"""The reliability suite's reading of an audit (`benchmarks.audit`): which findings fail a test.

A wiring's documented failures are passed as `allowed`; wall-clock findings never fail a test.
"""

from __future__ import annotations

from collections.abc import Collection

from benchmarks.audit import KINDS, Audit

# Findings that are wall-clock figures: a busy machine makes them, so they are reported (counts
# and examples in the bench) but never fail a test; `violations(timings=True)` includes them.
TIMING_KINDS = frozenset({"slow_statement"})


def violations(audit: Audit, allowed: Collection[str] = (), *, timings: bool = False) -> list[str]:
    """Every finding not in `allowed`, as `kind: description` (a few of each kind).

    Timing findings (TIMING_KINDS) count only with `timings`: tests leave them out."""
    unknown = set(allowed) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown finding kinds {sorted(unknown)}; known: {KINDS}")
    out: list[str] = []
    for kind in KINDS:
        found = audit.findings.get(kind, ())
        if kind in allowed or not found or (kind in TIMING_KINDS and not timings):
            continue
        out += [f"{kind}: {item}" for item in found[:5]]
        if len(found) > 5:
            out.append(f"{kind}: ... and {len(found) - 5} more")
    return out
