"""What happened inside one case, in order, for the report to draw: one lane per database
session (where it was opened), its statements (kind and table only), flushes, commit or
rollback, the error where it struck, and the HTTP responses on a lane of their own.

`model` is the plain data (it imports nothing of SQLAlchemy); `recorder` fills it from what
the session guard sees, through the guard's public observation interface (`UnitObserver`).
"""

from __future__ import annotations

from scenarios.timeline.model import EventKind, Lane, Timeline, TimelineEvent
from scenarios.timeline.recorder import CaseRecording, RequestRecorder, recording

__all__ = [
    "CaseRecording",
    "EventKind",
    "Lane",
    "RequestRecorder",
    "Timeline",
    "TimelineEvent",
    "recording",
]
