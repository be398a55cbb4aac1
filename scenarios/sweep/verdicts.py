"""What one run means: the rule behind every fault scenario, without any domain.

A request that fails leaves nothing behind, or (when the fault struck after its last commit)
all of its writes; a request that answers 2xx has kept every write its sessions and
connections sent (as the session guard counts them: ORM and Core alike), and, when a fault
struck, made every write the request makes without one. A request that failed with no fault is
named by the database error the driver raised, not by its response body.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from scenarios.sweep.app import Answer
from scenarios.sweep.recorder import Run
from scenarios.sweep.snapshot import Change, shape
from scenarios.sweep.watch import RunWatch

DETAIL_ROWS = 5  # rows named in a detail; the JSON keeps them all
BODY_SHOWN_CHARS = 200  # of a response body, when the driver raised nothing to name instead


class SweepVerdict(StrEnum):
    OK = "ok"
    PARTIAL_COMMIT = "partial_commit"  # failed, yet some but not all of its writes stayed
    LOST_WRITE = "lost_write"  # answered 2xx, yet rows it wrote are not in the database
    ERROR = "error"  # failed with no fault injected, or gave no answer at all
    NOT_REACHED = "not_reached"  # the rerun never met the boundary the first run had there


@dataclass(frozen=True)
class Judgement:
    outcome: SweepVerdict
    detail: str
    changes: tuple[Change, ...]


def _rows(changes: list[Change] | tuple[Change, ...]) -> str:
    shown = [change.describe() for change in changes[:DETAIL_ROWS]]
    more = len(changes) - DETAIL_ROWS
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _lost(watch: RunWatch) -> str | None:
    """The guard's word on writes the run did not keep, each with its session's file:line."""
    lost = watch.lost
    return "; ".join(finding.message for finding in lost) if lost else None


def _failure(answer: Answer, watch: RunWatch) -> str:
    """Why a request failed: the driver's error when there was one, else the body's start."""
    cause = watch.cause
    if cause is not None:
        return f"HTTP {answer.status}; the database raised {cause}"
    body = " ".join(answer.body.split())
    shown = body if len(body) <= BODY_SHOWN_CHARS else body[: BODY_SHOWN_CHARS - 3] + "..."
    return f"HTTP {answer.status}; no database error (the response began: {shown!r})"


def judge_first_run(answer: Answer, watch: RunWatch, changes: list[Change]) -> Judgement:
    """The run with no fault: it must succeed, and keep every write it sent."""
    if answer.status is None:
        return Judgement(SweepVerdict.ERROR, answer.body, tuple(changes))
    if not answer.succeeded:
        detail = f"the request failed with no fault injected: {_failure(answer, watch)}"
        if changes:
            return Judgement(
                SweepVerdict.PARTIAL_COMMIT,
                f"{detail}; yet these rows stayed: {_rows(changes)}",
                tuple(changes),
            )
        return Judgement(SweepVerdict.ERROR, detail, ())
    if lost := _lost(watch):
        cause = f" (the database raised {watch.cause})" if watch.cause else ""
        return Judgement(SweepVerdict.LOST_WRITE, f"{lost}{cause}", tuple(changes))
    return Judgement(
        SweepVerdict.OK, f"HTTP {answer.status}; {len(changes)} row(s) written", tuple(changes)
    )


def judge_faulted_run(
    answer: Answer,
    run: Run,
    watch: RunWatch,
    changes: list[Change],
    complete: Counter[tuple[str, str]] | None,
) -> Judgement:
    """A run with a fault at one boundary. `complete` is the shape of the first run's writes
    when it succeeded (None when it did not, so only 'nothing' is whole)."""
    if run.struck is None:
        return Judgement(
            SweepVerdict.NOT_REACHED,
            f"the request issued only {len(run.events)} event(s) this time; "
            "the boundary was never reached",
            tuple(changes),
        )
    whole = complete is not None and shape(changes) == complete
    if answer.status is None:
        return Judgement(SweepVerdict.ERROR, answer.body, tuple(changes))
    if answer.succeeded:
        if not whole:
            lost = _lost(watch)
            return Judgement(
                SweepVerdict.LOST_WRITE,
                f"answered HTTP {answer.status} after the injected fault, "
                f"but stored {len(changes)} row change(s) where the request makes "
                f"{sum((complete or Counter()).values())}"
                + (f": {lost}" if lost else " (it swallowed the error)"),
                tuple(changes),
            )
        return Judgement(
            SweepVerdict.OK,
            f"HTTP {answer.status}: the app recovered and stored everything",
            tuple(changes),
        )
    if not changes:
        return Judgement(SweepVerdict.OK, f"HTTP {answer.status}; nothing stayed", ())
    if whole:
        return Judgement(
            SweepVerdict.OK,
            f"HTTP {answer.status}; all of its writes stayed "
            "(the fault struck after its last commit)",
            tuple(changes),
        )
    return Judgement(
        SweepVerdict.PARTIAL_COMMIT,
        f"HTTP {answer.status}, yet {len(changes)} row change(s) stayed: {_rows(changes)}",
        tuple(changes),
    )
