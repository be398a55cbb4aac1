"""Which statements write, to which table, and how many rows: the guard counts writes from the
statements a connection sends (ORM flush and Core `execute(insert(...))` alike), because an app
that writes with Core statements fires no flush at all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# INSERT INTO t / UPDATE t / DELETE FROM t, optionally after a WITH clause we do not parse.
_WRITE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|MERGE\s+INTO)\s+"
    r"(?:ONLY\s+)?([\w.\"`\[\]]+)",
    re.IGNORECASE,
)


def written_table(statement: str, context: Any) -> str | None:
    """The table a statement writes to, or None when it does not write."""
    compiled = getattr(context, "compiled", None)
    if compiled is not None and (context.isinsert or context.isupdate or context.isdelete):
        table = getattr(getattr(compiled, "statement", None), "table", None)
        name = getattr(table, "name", None)
        if isinstance(name, str):
            return name
    match = _WRITE.match(statement)
    if match is None:
        return None
    return match.group(1).strip('"`[]').rsplit(".", 1)[-1].strip('"`[]')


def rows_written(cursor: Any, parameters: Sequence[Any] | Any, executemany: bool) -> int:
    """The rows a write statement touched: the driver's rowcount when it knows it, else the
    number of parameter sets (one for a single statement)."""
    count = getattr(cursor, "rowcount", -1)
    if isinstance(count, int) and count >= 0:
        return count
    if executemany and isinstance(parameters, Sequence):
        return len(parameters)
    return 1
