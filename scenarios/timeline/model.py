"""The timeline of one case as plain, JSON-ready data: lanes and the events on them, in the
order they happened. Nothing here holds a parameter value or a URL; texts are short labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

HTTP_LANE = "http"


class EventKind(StrEnum):
    OPENED = "opened"  # a session was created
    BEGIN = "begin"  # it began a transaction on a connection
    STATEMENT = "statement"  # one SQL statement: kind and table, e.g. "INSERT messages"
    FLUSH = "flush"  # the unit of work wrote pending rows
    COMMIT = "commit"
    ROLLBACK = "rollback"
    CLOSED = "closed"  # the transaction ended with neither commit nor rollback, nothing pending
    DISCARDED = "discarded"  # ended without a commit while holding flushed rows: they are gone
    ERROR = "error"  # the database refused a statement
    REQUEST = "request"  # HTTP lane: a request was sent
    RESPONSE = "response"  # HTTP lane: its response (status and error code)


@dataclass(frozen=True)
class Lane:
    """One session (`A`, `B`, ...) or the HTTP lane; `site` is `path:line` where the session was
    opened, `unit` the request it belongs to."""

    id: str
    label: str
    site: str | None = None
    unit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "site": self.site, "unit": self.unit}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lane:
        return cls(str(data["id"]), str(data["label"]), data.get("site"), str(data.get("unit", "")))


@dataclass(frozen=True)
class TimelineEvent:
    lane: str
    kind: EventKind
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"lane": self.lane, "kind": self.kind.value, "text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimelineEvent:
        return cls(str(data["lane"]), EventKind(data["kind"]), str(data["text"]))


@dataclass(frozen=True)
class Timeline:
    """Lanes in the order they appeared (the HTTP lane first) and events in the order they
    happened across all of them."""

    lanes: tuple[Lane, ...] = ()
    events: tuple[TimelineEvent, ...] = ()

    def lane(self, lane_id: str) -> Lane:
        return next(lane for lane in self.lanes if lane.id == lane_id)

    def on(self, lane_id: str) -> list[TimelineEvent]:
        return [event for event in self.events if event.lane == lane_id]

    def as_dict(self) -> dict[str, Any]:
        return {
            "lanes": [lane.as_dict() for lane in self.lanes],
            "events": [event.as_dict() for event in self.events],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timeline:
        return cls(
            tuple(Lane.from_dict(lane) for lane in data.get("lanes", ())),
            tuple(TimelineEvent.from_dict(event) for event in data.get("events", ())),
        )
