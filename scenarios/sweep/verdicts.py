"""What one run means: the rule behind every fault scenario, without any domain.

A request that fails leaves nothing behind, or (when the fault struck after its last commit)
all of its writes; a request that answers 2xx has stored every row its sessions flushed, and,
when a fault struck, every write the request makes without one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from scenarios.sweep.app import Answer
from scenarios.sweep.recorder import Run
from scenarios.sweep.snapshot import Change, Snapshot, shape

DETAIL_ROWS = 5  # rows named in a detail; the JSON keeps them all


class Outcome(StrEnum):
    OK = "ok"
    PARTIAL_COMMIT = "partial_commit"  # failed, yet some but not all of its writes stayed
    LOST_WRITE = "lost_write"  # answered 2xx, yet rows it wrote are not in the database
    ERROR = "error"  # failed with no fault injected, or gave no answer at all
    NOT_REACHED = "not_reached"  # the rerun never met the boundary the first run had there


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    detail: str
    changes: tuple[Change, ...]


def _rows(changes: list[Change] | tuple[Change, ...]) -> str:
    shown = [change.describe() for change in changes[:DETAIL_ROWS]]
    more = len(changes) - DETAIL_ROWS
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _missing_flushed(run: Run, after: Snapshot) -> list[Change]:
    present = after.keys()
    missing = []
    for (table, key), kind in sorted(run.flushed.items(), key=repr):
        if table not in after.rows:
            continue  # a table the sweep does not see (another schema): not judged
        if (kind == "deleted") == ((table, key) not in present):
            continue
        missing.append(Change(table, key, kind))  # type: ignore[arg-type]
    return missing


def judge_first_run(answer: Answer, run: Run, changes: list[Change], after: Snapshot) -> Judgement:
    """The run with no fault: it must succeed, and keep what it flushed."""
    if answer.status is None:
        return Judgement(Outcome.ERROR, answer.body, tuple(changes))
    if not answer.succeeded:
        detail = (
            f"the request failed with no fault injected: HTTP {answer.status} {answer.body[:200]}"
        )
        if changes:
            return Judgement(
                Outcome.PARTIAL_COMMIT,
                f"{detail}; yet these rows stayed: {_rows(changes)}",
                tuple(changes),
            )
        return Judgement(Outcome.ERROR, detail, ())
    if missing := _missing_flushed(run, after):
        return Judgement(
            Outcome.LOST_WRITE,
            f"answered HTTP {answer.status}, but rows its sessions flushed are not stored: "
            + _rows(missing),
            tuple(changes),
        )
    return Judgement(
        Outcome.OK, f"HTTP {answer.status}; {len(changes)} row(s) written", tuple(changes)
    )


def judge_faulted_run(
    answer: Answer,
    run: Run,
    changes: list[Change],
    after: Snapshot,
    complete: Counter[tuple[str, str]] | None,
) -> Judgement:
    """A run with a fault at one boundary. `complete` is the shape of the first run's writes
    when it succeeded (None when it did not, so only 'nothing' is whole)."""
    if run.struck is None:
        return Judgement(
            Outcome.NOT_REACHED,
            f"the request issued only {len(run.events)} event(s) this time; "
            "the boundary was never reached",
            tuple(changes),
        )
    whole = complete is not None and shape(changes) == complete
    if answer.status is None:
        return Judgement(Outcome.ERROR, answer.body, tuple(changes))
    if answer.succeeded:
        if missing := _missing_flushed(run, after):
            return Judgement(
                Outcome.LOST_WRITE,
                f"answered HTTP {answer.status} after the injected fault; flushed rows are not "
                f"stored: {_rows(missing)}",
                tuple(changes),
            )
        if not whole:
            return Judgement(
                Outcome.LOST_WRITE,
                f"answered HTTP {answer.status} after the injected fault (it swallowed the error), "
                f"but stored {len(changes)} row change(s) where the request makes "
                f"{sum((complete or Counter()).values())}",
                tuple(changes),
            )
        return Judgement(
            Outcome.OK,
            f"HTTP {answer.status}: the app recovered and stored everything",
            tuple(changes),
        )
    if not changes:
        return Judgement(Outcome.OK, f"HTTP {answer.status}; nothing stayed", ())
    if whole:
        return Judgement(
            Outcome.OK,
            f"HTTP {answer.status}; all of its writes stayed "
            "(the fault struck after its last commit)",
            tuple(changes),
        )
    return Judgement(
        Outcome.PARTIAL_COMMIT,
        f"HTTP {answer.status}, yet {len(changes)} row change(s) stayed: {_rows(changes)}",
        tuple(changes),
    )
