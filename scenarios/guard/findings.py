"""What the session guard found, as plain data: frozen dataclasses that turn into JSON-ready
dicts, so a report, a test failure and the runner's matrix all say the same thing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    EXTRA_SESSION = "extra_session"  # a second (third, ...) session did work in the unit
    EXTRA_CONNECTION = "extra_connection"  # more than one pooled connection held at once
    LOST_WRITE = "lost_write"  # rows flushed, then discarded without a commit
    LEAKED_CONNECTION = "leaked_connection"  # checked out in the unit, not returned by its end


@dataclass(frozen=True)
class Finding:
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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            kind=Kind(data["kind"]),
            unit=str(data["unit"]),
            message=str(data["message"]),
            site=data.get("site"),
            rows={str(k): int(v) for k, v in dict(data.get("rows") or {}).items()},
            sessions=int(data.get("sessions", 0)),
            ordinal=int(data.get("ordinal", 0)),
            connections=int(data.get("connections", 0)),
        )


_ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def ordinal_word(n: int) -> str:
    return _ORDINALS.get(n, f"{n}th")


def _rows_text(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def summarise_unit(findings: Sequence[Finding], noun: str = "request") -> str:
    """One line for one unit, e.g. `2 sessions in one request; the second opened at
    app/wiring.py:22; 2 rows flushed and never committed`."""
    parts: list[str] = []
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
    leaked = sum(1 for f in findings if f.kind is Kind.LEAKED_CONNECTION)
    if leaked:
        parts.append(f"{leaked} connection{'s' if leaked != 1 else ''} not returned to the pool")
    return "; ".join(parts)


def summarise(findings: Iterable[Finding], noun: str = "request") -> str:
    """One line for several units (a case's requests): units with the same line are named
    together, e.g. `a, b: 2 sessions in one request; ...`; one unit's line stands alone."""
    by_unit: dict[str, list[Finding]] = {}
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
