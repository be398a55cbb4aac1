"""Masks database passwords in text bound for output or a report.

A module of its own (it imports nothing from the project), so every writer can use it without
an import circle: the runner, the stateful search, the CLI and the report all call `redact`.
"""

from __future__ import annotations

import re
from typing import Any

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s]+)(?=@)")


def redact(text: str) -> str:
    """`scheme://user:secret@host` -> `scheme://user:***@host`, anywhere in `text`."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def redact_tree(value: Any) -> Any:
    """`redact` applied to every string in nested lists and dicts (a JSON document)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    return value
