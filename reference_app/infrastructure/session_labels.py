"""Short, stable labels for database sessions, so a log shows *which* session did the work."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

_counter = itertools.count(1)


def session_label(db: AsyncSession) -> str:
    """`db#N`, assigned on first use and kept in the session's info dict."""
    label = db.info.get("label")
    if label is None:
        label = f"db#{next(_counter)}"
        db.info["label"] = label
    return str(label)
