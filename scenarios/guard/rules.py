"""What the session guard decides: from what one unit recorded (its sessions and connections,
their writes, commits and discards, the response's status), the findings and notes.

Each rule is a function of the unit's facts, so a rule reads in one place: a second session
that wrote (a read-only one is a note), pooled connections held at once, writes not kept after
a success response, a commit that ran after the response started, a connection not returned.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scenarios.guard.findings import GuardFinding, Kind, ordinal_word
from scenarios.guard.sites import format_site

REQUEST_LANE = "request"
AFTER_RESPONSE_LANE = "after the response"


@dataclass
class Writer:
    """A session (or a connection used outside any session) seen in a unit."""

    sequence: int  # creation order; 0 when created before the unit began
    site: tuple[str, int] | None
    task: asyncio.Task[Any] | None = None  # the task that opened it, when in an event loop
    lane: str | None = None  # REQUEST_LANE, AFTER_RESPONSE_LANE or "task NAME"; None: undecided
    via: tuple[str, ...] = ()  # FastAPI Depends parameters that asked for it
    began: bool = False
    wrote: bool = False
    pending: Counter[str] = field(default_factory=Counter)  # written, not yet committed
    at_response: Counter[str] | None = None  # not yet committed when the response started
    committed_after_response: bool = False
    # Opened outside any unit (a fixture's, the test's), never by the app in an earlier one.
    outside: bool = False
    # The driver's code when one of its statements waited for a lock and gave up ("1205").
    waited: str | None = None


def lock_wait_code(error: BaseException) -> str | None:
    """The code of a bounded lock wait that ran out (MariaDB/MySQL 1205, Postgres 55P03,
    SQLite SQLITE_BUSY, ...); None for any other error. Imported on the first database error,
    so a run without one never loads the classifier."""
    from scenarios.outcomes import LOCK_CODES
    from scenarios.toolkit.errors import driver_error_code

    code = driver_error_code(error)
    return code if code in LOCK_CODES else None


def _waits(facts: UnitFacts, working: list[Writer]) -> str:
    """What the database said when one of the sessions waited for another's lock: on
    MariaDB/MySQL the incident's bug is a foreign key check (or a write) in one session waiting for
    rows the other has not committed, for `innodb_lock_wait_timeout` (50 s by default)."""
    for ordinal, record in enumerate(working, start=1):
        if record.waited is None:
            continue
        hint = (
            " (InnoDB's lock wait timeout: one session of the "
            f"{facts.noun} waited for rows another had not committed, 50 s by default)"
            if record.waited == "1205"
            else " (a bounded lock wait ran out: one session waited for another's lock)"
        )
        return (
            f"; the {ordinal_word(ordinal)} session's statement waited for a lock and failed "
            f"with error {record.waited}{hint}"
        )
    return ""


@dataclass
class Discard:
    record: Writer
    rows: Counter[str]
    how: str  # "closed", "rolled back", "left open", "discarded before flushing"


@dataclass(frozen=True)
class Held:
    """A pooled connection not returned: where it was checked out, and whether a session
    opened outside the unit (a fixture's, the test's) holds it."""

    site: tuple[str, int] | None
    outside: bool = False
    scope: str | None = None  # what outlives the unit and owns the session (a test's context)


@dataclass(frozen=True)
class UnitFacts:
    """What a unit knows about itself when it is judged."""

    label: str
    noun: str
    route: str | None
    status: int | None
    report_rollbacks: bool
    sessions: Sequence[Writer]  # the session writers (the rest are bare connections)
    discards: Sequence[Discard]
    held: Sequence[Held]  # each connection still held
    peak: int
    peak_site: tuple[str, int] | None


def _unit_label(facts: UnitFacts, lane: str | None) -> str:
    if lane in (None, REQUEST_LANE):
        return facts.label
    return f"{facts.label} ({lane})"


def _where(facts: UnitFacts, record: Writer) -> str:
    site = format_site(record.site) or "outside the unit"
    return f"{site} ({_via(facts, record)})" if _via(facts, record) else site


def _via(facts: UnitFacts, record: Writer) -> str | None:
    parts = [f"route {facts.route}"] if facts.route else []
    if record.via:
        parts.append("Depends: " + " -> ".join(record.via))
    return ", ".join(parts) or None


def judge(
    facts: UnitFacts, records: Sequence[Writer], *, include_unit_wide: bool = True
) -> tuple[GuardFinding, ...]:
    findings: list[GuardFinding] = []
    lanes: dict[str | None, list[Writer]] = {}
    for record in records:
        lanes.setdefault(record.lane, []).append(record)
    for lane, members in lanes.items():
        findings += _extra_sessions(facts, lane, members)
    if include_unit_wide:
        findings += _extra_connections(facts, records)
    findings += _lost_writes(facts, records)
    findings += _early_responses(facts, records)
    # At the end of the unit, or of a task it started that outlived it (the connections it took).
    until = f"the end of the {facts.noun}" if include_unit_wide else "the end of its task"
    for held in list(facts.held):
        site = format_site(held.site)
        outside = (
            f" (it serves a session opened outside the {facts.noun}, a fixture's or the "
            f"test's, which gives it back when it closes: not the {facts.noun}'s doing, a note)"
            if held.outside and held.scope is None
            else f" (it serves a session scoped to {held.scope}, which outlives the "
            f"{facts.noun} and ends the session: not the {facts.noun}'s doing, a note)"
            if held.outside
            else ""
        )
        findings.append(
            GuardFinding(
                kind=Kind.LEAKED_CONNECTION,
                unit=facts.label,
                message=(
                    f"a connection checked out at {site or 'an unknown place'} was not "
                    f"returned to the pool by {until}{outside}"
                ),
                site=site,
                note=held.outside,
                status=facts.status,
                route=facts.route,
            )
        )
    return tuple(findings)


def _unsettled(facts: UnitFacts, record: Writer) -> bool:
    """Did this session fail to commit what it wrote by the response (or, with no response, by
    the end of the unit): written or added rows still open when the response started, or
    rows it discarded (rolled back, closed, left open)?"""
    if record.at_response or record.pending:
        return True
    return any(d.record is record for d in facts.discards)


def _extra_sessions(
    facts: UnitFacts, lane: str | None, members: list[Writer]
) -> list[GuardFinding]:
    """A second session is the request's problem only when it costs data: two sessions wrote
    and one of them did not commit by the response (`extra_session`, the incident app's bug), a lone
    writer after other sessions that did not commit by then (`extra_session`), or two
    sessions wrote and each committed (`split_commit`: one request, two transactions, a
    partial commit waiting for a failure between them). A session that only read is a note;
    so is a session opened outside the unit (a fixture's, the test's): never the request's
    fault. A lone writer that committed, after sessions that only read, is silent."""
    sessions = set(map(id, facts.sessions))
    working = sorted(
        (r for r in members if r.began and id(r) in sessions), key=lambda r: r.sequence
    )
    found: list[GuardFinding] = []
    if len(working) < 2:
        return found
    writers = [r for r in working if r.wrote]
    unsettled = {id(r) for r in writers if _unsettled(facts, r)}
    main = working[0] if (len(writers) == 1 and unsettled) or not writers else writers[0]
    first = _where(facts, main)
    noun = facts.noun if lane in (None, REQUEST_LANE) else f"{facts.noun}'s {lane}"
    for ordinal, record in enumerate(working, start=1):
        if record is main:
            continue

        def finding(
            kind: Kind,
            message: str,
            note: bool = False,
            sessions: int = len(working),
            record: Writer = record,
            ordinal: int = ordinal,
        ) -> GuardFinding:
            return GuardFinding(
                kind=kind,
                unit=_unit_label(facts, lane),
                message=message,
                site=format_site(record.site),
                sessions=sessions,
                ordinal=ordinal,
                note=note,
                via=_via(facts, record),
                status=facts.status,
                route=facts.route,
            )

        opened = (
            f"the {ordinal_word(ordinal)} was opened at {_where(facts, record)} "
            f"(the first at {first})"
        )
        waits = _waits(facts, working)
        if record.outside:
            found.append(
                finding(
                    Kind.EXTRA_SESSION if record.wrote else Kind.READ_ONLY_SESSION,
                    f"{len(working)} sessions did work in one {noun}; one of them was "
                    f"opened outside the {facts.noun} (a fixture's or the test's), so it "
                    f"is not the {facts.noun}'s doing: a note",
                    note=True,
                )
            )
        elif not record.wrote and record.waited is not None:
            # It meant to write: its statement waited for the other session's lock and failed.
            found.append(
                finding(
                    Kind.EXTRA_SESSION,
                    f"{len(working)} sessions did work in one {noun}: {opened}{waits}",
                )
            )
        elif not record.wrote:
            found.append(
                finding(
                    Kind.READ_ONLY_SESSION,
                    f"{len(working)} sessions did work in one {noun}, the extra one only "
                    f"reading: {opened}{waits}",
                    note=True,
                )
            )
        elif unsettled:
            why = (
                "it wrote and did not commit by the response"
                if id(record) in unsettled
                else "it wrote, and another session did not commit its writes by the response"
            )
            if facts.status is None:
                why = why.replace("by the response", f"by the end of the {facts.noun}")
            found.append(
                finding(
                    Kind.EXTRA_SESSION,
                    f"{len(working)} sessions did work in one {noun}: {opened}; {why}{waits}",
                )
            )
        else:
            failed = facts.status is not None and facts.status >= 400
            found.append(
                finding(
                    Kind.SPLIT_COMMIT,
                    f"{len(writers)} sessions wrote and each committed in one {noun}: "
                    f"{opened}; one request, {len(writers)} transactions"
                    + (
                        f", and the response was {facts.status}: part of the "
                        f"{facts.noun}'s writes are committed (a partial commit)"
                        if failed
                        else "; a failure between the commits would leave a partial commit"
                    )
                    + waits,
                    sessions=len(writers),
                )
            )
    return found


def _extra_connections(facts: UnitFacts, records: Sequence[Writer]) -> list[GuardFinding]:
    if facts.peak < 2:
        return []
    site = format_site(facts.peak_site)
    sessions = set(map(id, facts.sessions))
    working = sorted(
        (r for r in records if r.began and id(r) in sessions), key=lambda r: r.sequence
    )
    bare_wrote = any(r.wrote for r in records if id(r) not in sessions)
    writers = [r for r in working if r.wrote]
    # As for sessions: the extra connection matters when two wrote, or a lone writer that was
    # not the first did not commit by the response.
    lone_unsettled = (
        len(writers) == 1 and writers[0] is not working[0] and (_unsettled(facts, writers[0]))
    )
    extra_wrote = bare_wrote or len(writers) >= 2 or lone_unsettled
    return [
        GuardFinding(
            kind=Kind.EXTRA_CONNECTION,
            unit=facts.label,
            message=(
                f"{facts.peak} pooled connections held at once in one {facts.noun}; the "
                f"last was checked out at {site or 'an unknown place'}"
                + ("" if extra_wrote else " (the extra ones only read: a note)")
            ),
            site=site,
            connections=facts.peak,
            note=not extra_wrote,
            status=facts.status,
            route=facts.route,
        )
    ]


def _lost_writes(facts: UnitFacts, records: Sequence[Writer]) -> list[GuardFinding]:
    acknowledged = facts.status is not None and 200 <= facts.status < 400
    ids = set(map(id, records))
    discards = [d for d in facts.discards if id(d.record) in ids]
    discards += [Discard(r, Counter(r.pending), "left open") for r in records if r.pending]
    found: list[GuardFinding] = []
    for discard in discards:
        record = discard.record
        in_request = record.lane in (None, REQUEST_LANE)
        if facts.status is not None and record.sequence == 0:
            continue  # the test's own session (a fixture's), not the request's
        if acknowledged and (in_request or discard.how in _DECIDED):
            # A task the request started (after its response, or `asyncio.create_task`) whose
            # writes were rolled back or never flushed lost them under the same 2xx.
            found.append(_acknowledged(facts, discard))
        elif facts.status is not None and in_request:
            continue  # an error response whose writes were discarded: as it should be
        elif discard.how in ("closed", "left open") or (
            discard.how == "rolled back" and facts.report_rollbacks
        ):
            found.append(_lost(facts, discard))
    return found


# Discards that look deliberate inside one request (an error response rolls back) but not in
# work the request left to a task after answering 2xx.
_DECIDED = frozenset({"rolled back", "discarded unflushed"})


def _lost(facts: UnitFacts, discard: Discard) -> GuardFinding:
    site = format_site(discard.record.site)
    n = sum(discard.rows.values())
    ending = {
        "closed": "was closed without committing them",
        "rolled back": "was rolled back",
        "left open": f"had not committed them by the end of the {facts.noun}",
    }[discard.how]
    return GuardFinding(
        kind=Kind.LOST_WRITE,
        unit=_unit_label(facts, discard.record.lane),
        message=(
            f"{n} row{'s' if n != 1 else ''} flushed and never committed "
            f"({_tables(discard.rows)}): the session opened at "
            f"{_where(facts, discard.record)} {ending}"
        ),
        site=site,
        rows=dict(discard.rows),
        via=_via(facts, discard.record),
        status=facts.status,
        route=facts.route,
    )


def _acknowledged(facts: UnitFacts, discard: Discard) -> GuardFinding:
    record = discard.record
    n = sum(discard.rows.values())
    ending = {
        "closed": "were still uncommitted when it was closed",
        "rolled back": "were rolled back",
        "left open": f"were still uncommitted at the end of the {facts.noun}",
        "discarded unflushed": "were added but never flushed: the session was closed",
    }[discard.how]
    early = " (the response had started before any commit)" if record.at_response else ""
    return GuardFinding(
        kind=Kind.ACKNOWLEDGED_NOT_SAVED,
        unit=_unit_label(facts, record.lane),
        message=(
            f"acknowledged but not saved: the response was {facts.status}, yet "
            f"{n} row{'s' if n != 1 else ''} ({_tables(discard.rows)}) written by the "
            f"session opened at {_where(facts, record)} {ending}{early}"
        ),
        site=format_site(record.site),
        rows=dict(discard.rows),
        via=_via(facts, record),
        status=facts.status,
        route=facts.route,
    )


def _early_responses(facts: UnitFacts, records: Sequence[Writer]) -> list[GuardFinding]:
    found: list[GuardFinding] = []
    for record in records:
        if not (record.committed_after_response and record.at_response):
            continue
        if record.sequence == 0:
            continue
        n = sum(record.at_response.values())
        found.append(
            GuardFinding(
                kind=Kind.RESPONSE_BEFORE_COMMIT,
                unit=_unit_label(facts, record.lane),
                message=(
                    f"response sent before commit: the response{_status(facts)} started "
                    f"while {n} row{'s' if n != 1 else ''} ({_tables(record.at_response)}) "
                    f"of the session opened at {_where(facts, record)} were not committed; "
                    "it committed after the client had its answer, so a failed commit "
                    "would lose what the client was told was saved"
                ),
                site=format_site(record.site),
                rows=dict(record.at_response),
                via=_via(facts, record),
                status=facts.status,
                route=facts.route,
            )
        )
    return found


def _status(facts: UnitFacts) -> str:
    return f" ({facts.status})" if facts.status is not None else ""


def _tables(rows: Counter[str]) -> str:
    return ", ".join(f"{table}: {count}" for table, count in sorted(rows.items()))
