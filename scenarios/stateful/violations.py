"""The failures the machine reports: one exception type per outcome, so Hypothesis keeps
them apart and shrinks each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from scenarios.adapter import (
    ChatResponse,
)
from scenarios.outcomes import FK_CODES, LOCK_CODES, Outcome


class StatefulViolation(AssertionError):
    """A request history broke the model; `steps` is that history, as run."""

    outcome: ClassVar[Outcome] = Outcome.ERROR

    def __init__(self, message: str, *, steps: Sequence[str], rows: dict[str, Any]) -> None:
        super().__init__(f"{self.outcome.value}: {message}")
        self.message = message
        self.steps = tuple(steps)
        self.rows = rows


class LeakedConnectionFound(StatefulViolation):
    """A step left a connection out of the pool, or holding a transaction open."""

    outcome = Outcome.LEAKED_CONNECTION


class FkViolationFound(StatefulViolation):
    outcome = Outcome.FK_VIOLATION


class LockTimeoutFound(StatefulViolation):
    outcome = Outcome.LOCK_TIMEOUT


class LostWriteFound(StatefulViolation):
    outcome = Outcome.LOST_WRITE


class PartialCommitFound(StatefulViolation):
    outcome = Outcome.PARTIAL_COMMIT


class SplitExchangeFound(StatefulViolation):
    """Every acknowledged message is stored, but racing requests committed their parts in
    between each other: a question no longer sits next to its answer."""

    outcome = Outcome.SPLIT_EXCHANGE


class ErrorFound(StatefulViolation):
    outcome = Outcome.ERROR


VIOLATIONS: dict[Outcome, type[StatefulViolation]] = {
    cls.outcome: cls
    for cls in (
        LeakedConnectionFound,
        FkViolationFound,
        LockTimeoutFound,
        LostWriteFound,
        PartialCommitFound,
        SplitExchangeFound,
        ErrorFound,
    )
}


def failure_outcome(response: ChatResponse) -> Outcome:
    """What an unexpected failure of a well-formed request shows, from its error code."""
    if response.error_code in FK_CODES:
        return Outcome.FK_VIOLATION
    if response.error_code in LOCK_CODES:
        return Outcome.LOCK_TIMEOUT
    return Outcome.ERROR
