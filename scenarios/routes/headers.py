"""`--header 'Name: value'`: the headers every generated request carries (auth, a tenant)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from scenarios.sweep.app import UsageError

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field-name


def parse_header(text: str) -> tuple[str, str]:
    """'Authorization: Bearer x' -> ('Authorization', 'Bearer x'); the value is kept out of
    the error message (it is often a secret)."""
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not name:
        shown = (text.split() or [""])[0][:40]  # its first word: the rest may be the secret
        raise UsageError(f"--header {shown!r}...: expected 'Name: value'")
    if not _TOKEN.match(name):
        raise UsageError(f"--header {name!r}: not a valid header name")
    value = value.strip()
    if any(ch in value for ch in "\r\n\0"):
        raise UsageError(f"--header {name!r}: the value holds a line break or NUL")
    return name, value


def parse_headers(texts: Iterable[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for text in texts:
        name, value = parse_header(text)
        headers[name] = value
    return headers
