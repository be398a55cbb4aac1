"""A door's JSON report keeps one entry per app factory and database: each run replaces its
own entry and keeps the others', so the sweep and the route door share one page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.redaction import redact_tree


def replace_run(path: Path, list_key: str, current: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries under `list_key` in the report at `path` (none when it is absent or not
    ours), with `current` in place of the one for its factory and database, sorted, and every
    string masked (an error's text can carry a URL)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))[list_key]
        earlier = [e for e in found if isinstance(e, dict) and "app_factory" in e and "db" in e]
    except (OSError, ValueError, KeyError, TypeError):
        earlier = []
    key = (current["app_factory"], current["db"])
    entries = [e for e in earlier if (e["app_factory"], e["db"]) != key]
    entries.append(current)
    entries.sort(key=lambda e: (e["app_factory"], e["db"]))
    result: list[dict[str, Any]] = redact_tree(entries)
    return result
