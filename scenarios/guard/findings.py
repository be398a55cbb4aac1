"""What the session guard found, as plain data: frozen dataclasses that turn into JSON-ready
dicts, so a report, a test failure and the runner's matrix all say the same thing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    EXTRA_SESSION = "extra_session"  # a second (third, ...) session wrote in the unit
    EXTRA_CONNECTION = "extra_connection"  # more than one pooled connection held at once
    LOST_WRITE = "lost_write"  # rows written, then discarded without a commit
    LEAKED_CONNECTION = "leaked_connection"  # checked out in the unit, not returned by its end
    READ_ONLY_SESSION = "read_only_session"  # a second session that only read: always a note
    ACKNOWLEDGED_NOT_SAVED = "acknowledged_not_saved"  # a 2xx response, and writes not kept
    RESPONSE_BEFORE_COMMIT = "response_before_commit"  # committed only after the response began
    SPLIT_COMMIT = "split_commit"  # two sessions wrote and each committed: two transactions


@dataclass(frozen=True)
class GuardFinding:
    """One problem in one unit. `site` is `path:line` where the session (or connection) in
    question was opened; `rows` maps table name to row count for lost writes."""

    kind: Kind
    unit: str
    message: str
    site: str | None = None
    rows: Mapping[str, int] = field(default_factory=dict)
    sessions: int = 0  # how many sessions did work in the unit (extra_session)
    ordinal: int = 0  # this session's place in creation order, 1-based (extra_session)
    connections: int = 0  # peak pooled connections held at once (extra_connection)
    note: bool = False  # worth knowing, never a failure (a read-only second session)
    via: str | None = None  # the route and `Depends` parameters that asked for the session
    status: int | None = None  # the response's status, when the unit is a request
    route: str | None = None  # the route template (`POST /notes/{id}`), when known

    @property
    def row_count(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "unit": self.unit,
            "message": self.message,
            "site": self.site,
            "rows": dict(sorted(self.rows.items())),
            "sessions": self.sessions,
            "ordinal": self.ordinal,
            "connections": self.connections,
            "note": self.note,
            "via": self.via,
            "status": self.status,
            "route": self.route,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GuardFinding:
        return cls(
            kind=Kind(data["kind"]),
            unit=str(data["unit"]),
            message=str(data["message"]),
            site=data.get("site"),
            rows={str(k): int(v) for k, v in dict(data.get("rows") or {}).items()},
            sessions=int(data.get("sessions", 0)),
            ordinal=int(data.get("ordinal", 0)),
            connections=int(data.get("connections", 0)),
            note=bool(data.get("note", False)),
            via=data.get("via"),
            status=None if data.get("status") is None else int(data["status"]),
            route=data.get("route"),
        )


_ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def ordinal_word(n: int) -> str:
    return _ORDINALS.get(n, f"{n}th")


def _rows_text(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def summarise_unit(findings: Sequence[GuardFinding], noun: str = "request") -> str:
    """One line for one unit, e.g. `2 sessions in one request; the second opened at
    app/wiring.py:22; 2 rows flushed and never committed`."""
    parts: list[str] = []
    findings = [f for f in findings if not f.note]
    extra = [f for f in findings if f.kind is Kind.EXTRA_SESSION]
    if extra:
        parts.append(f"{max(f.sessions for f in extra)} sessions in one {noun}")
        parts += [f"the {ordinal_word(f.ordinal)} opened at {f.site}" for f in extra]
    connections = [f for f in findings if f.kind is Kind.EXTRA_CONNECTION]
    if connections and not extra:
        parts.append(f"{max(f.connections for f in connections)} pooled connections held at once")
    lost = sum(f.row_count for f in findings if f.kind is Kind.LOST_WRITE)
    if lost:
        parts.append(f"{_rows_text(lost)} flushed and never committed")
    acknowledged = [f for f in findings if f.kind is Kind.ACKNOWLEDGED_NOT_SAVED]
    if acknowledged:
        status = acknowledged[0].status
        rows = sum(f.row_count for f in acknowledged)
        sites = ", ".join(sorted({f.site or "outside the unit" for f in acknowledged}))
        parts.append(f"acknowledged ({status}) but not saved: {_rows_text(rows)} of {sites}")
    split = [f for f in findings if f.kind is Kind.SPLIT_COMMIT]
    if split:
        sites = ", ".join(sorted({f.site or "outside the unit" for f in split}))
        parts.append(
            f"writes committed in {max(f.sessions for f in split)} transactions "
            f"(the extra committed at {sites})"
        )
    early = [f for f in findings if f.kind is Kind.RESPONSE_BEFORE_COMMIT]
    if early:
        sites = ", ".join(sorted({f.site or "outside the unit" for f in early}))
        parts.append(f"response sent before commit (session opened at {sites})")
    leaked = sum(1 for f in findings if f.kind is Kind.LEAKED_CONNECTION)
    if leaked:
        parts.append(f"{leaked} connection{'s' if leaked != 1 else ''} not returned to the pool")
    return "; ".join(parts)


def summarise(findings: Iterable[GuardFinding], noun: str = "request") -> str:
    """One line for several units (a case's requests): units with the same line are named
    together, e.g. `a, b: 2 sessions in one request; ...`; one unit's line stands alone."""
    by_unit: dict[str, list[GuardFinding]] = {}
    for finding in findings:
        by_unit.setdefault(finding.unit, []).append(finding)
    if not by_unit:
        return ""
    lines: dict[str, list[str]] = {}
    for unit, found in by_unit.items():
        lines.setdefault(summarise_unit(found, noun), []).append(unit)
    if len(by_unit) == 1:
        return next(iter(lines))
    return " | ".join(f"{', '.join(units)}: {line}" for line, units in lines.items())
