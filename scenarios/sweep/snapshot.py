"""The database as the sweep sees it: every table (by reflection), rows keyed by primary key,
read through a connection of the sweep's own; and the restore between runs: truncate and
reload from the snapshot, sequences included, never a rollback of the app's transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import MetaData, Table, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from scenarios.sweep.recorder import RowKey, normalise
from scenarios.toolkit.waits import WaitBounds, mysql_lock_waits

ChangeKind = Literal["inserted", "updated", "deleted"]
# The sweep's own waits are bounded too, and generous: it waits for the app, not against it.
OWN_LOCK_TIMEOUT_MS = 5000
OWN_SQLITE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Change:
    table: str
    key: tuple[Any, ...]
    kind: ChangeKind

    def describe(self) -> str:
        shown = ", ".join(str(part) for part in self.key)
        return f"{self.table}({shown}) {self.kind}"


@dataclass
class Snapshot:
    """Rows per table keyed by primary key (the whole row where a table has none), with the
    raw values to reload, and the sequence positions that make the next ids the same."""

    tables: list[Table]
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    sequences: dict[str, Any] = field(default_factory=dict)

    def keys(self) -> set[RowKey]:
        return {(name, key) for name, rows in self.rows.items() for key in rows}


def open_own_engine(url: str) -> AsyncEngine:
    """NullPool: every snapshot and restore is a fresh connection, never one of the app's."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return create_async_engine(
            parsed, poolclass=NullPool, connect_args={"timeout": OWN_SQLITE_TIMEOUT_S}
        )
    if _is_mysql(parsed.get_backend_name()):
        seconds = max(1, OWN_LOCK_TIMEOUT_MS // 1000)
        bounds = WaitBounds(mysql_lock_wait_timeout_s=seconds)
        return create_async_engine(
            parsed, poolclass=NullPool, connect_args={"init_command": mysql_lock_waits(bounds)}
        )
    settings = {"lock_timeout": str(OWN_LOCK_TIMEOUT_MS), "statement_timeout": "30000"}
    return create_async_engine(
        parsed, poolclass=NullPool, connect_args={"server_settings": settings}
    )


def _is_mysql(dialect_name: str) -> bool:
    return dialect_name in ("mysql", "mariadb")


def _row_key(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    columns = list(table.primary_key.columns) or list(table.columns)
    return tuple(normalise(row[column.name]) for column in columns)


async def reflect(connection: AsyncConnection) -> list[Table]:
    metadata = MetaData()
    await connection.run_sync(metadata.reflect)
    await connection.rollback()
    return list(metadata.sorted_tables)


async def take(connection: AsyncConnection, tables: list[Table]) -> Snapshot:
    """Every row of `tables` and the sequences, in one read transaction, then closed."""
    snapshot = Snapshot(tables)
    try:
        for table in tables:
            result = await connection.execute(select(table))
            rows: dict[tuple[Any, ...], dict[str, Any]] = {}
            for row in result.mappings():
                values = dict(row)
                key = _row_key(table, values)
                while key in rows:  # duplicate rows in a table without a key
                    key = (*key, "#")
                rows[key] = values
            snapshot.rows[table.name] = rows
        snapshot.sequences = await _sequences(connection)
    finally:
        await connection.rollback()
    return snapshot


async def _sequences(connection: AsyncConnection) -> dict[str, Any]:
    if connection.dialect.name == "postgresql":
        result = await connection.execute(
            text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value "
                "FROM pg_sequences WHERE schemaname = current_schema()"
            )
        )
        return {name: value for name, value in result}
    if _is_mysql(connection.dialect.name):
        # AUTO_INCREMENT counters are not rewound: ALTER TABLE would commit and wait for the
        # metadata lock of any transaction the app left open. Ids then differ from run to run,
        # which the verdicts allow for (they compare the shape of the writes, not their keys).
        return {}
    exists = await connection.scalar(
        text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
    )
    if not exists:
        return {}
    result = await connection.execute(text("SELECT name, seq FROM sqlite_sequence"))
    return {name: value for name, value in result}


def with_dependents(tables: list[Table], changed: set[str]) -> list[Table]:
    """The changed tables and every table that points at one of them, in dependency order:
    emptying a parent empties (Postgres CASCADE) or orphans its children, so they reload too."""
    chosen = set(changed)
    grew = True
    while grew:
        grew = False
        for table in tables:
            if table.name not in chosen and any(
                fk.column.table.name in chosen for fk in table.foreign_keys
            ):
                chosen.add(table.name)
                grew = True
    return [table for table in tables if table.name in chosen]


async def restore(
    connection: AsyncConnection, snapshot: Snapshot, changed: set[str] | None = None
) -> None:
    """Empty the tables (those `changed` and their dependents, or all) and reload the
    snapshot's rows, parents first, and put the sequences back, in one transaction."""
    tables = snapshot.tables if changed is None else with_dependents(snapshot.tables, changed)
    async with connection.begin():
        if connection.dialect.name == "postgresql":
            if tables:
                names = ", ".join(
                    connection.dialect.identifier_preparer.format_table(t) for t in tables
                )
                await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        elif _is_mysql(connection.dialect.name):
            # Checked again when the transaction reloads the snapshot, which was consistent:
            # off only so a table that points at itself empties and reloads in any row order.
            await connection.execute(text("SET SESSION foreign_key_checks = 0"))
            for table in reversed(tables):
                await connection.execute(table.delete())
        else:
            for table in reversed(tables):
                await connection.execute(table.delete())
        for table in tables:
            rows = list(snapshot.rows.get(table.name, {}).values())
            if rows:
                await connection.execute(table.insert(), rows)
        await _restore_sequences(connection, snapshot.sequences)
        if _is_mysql(connection.dialect.name):
            await connection.execute(text("SET SESSION foreign_key_checks = 1"))


async def _restore_sequences(connection: AsyncConnection, sequences: dict[str, Any]) -> None:
    if connection.dialect.name == "postgresql":
        for name, value in sequences.items():
            if value is None:
                await connection.execute(text(f"ALTER SEQUENCE {name} RESTART"))
            else:
                await connection.execute(
                    text("SELECT setval(:name, :value, true)"), {"name": name, "value": value}
                )
        return
    if _is_mysql(connection.dialect.name):
        return
    if sequences or await connection.scalar(
        text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
    ):
        await connection.execute(text("DELETE FROM sqlite_sequence"))
        for name, value in sequences.items():
            await connection.execute(
                text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :value)"),
                {"name": name, "value": value},
            )


def diff(before: Snapshot, after: Snapshot) -> list[Change]:
    """Every row inserted, deleted or changed, table by table in dependency order."""
    changes: list[Change] = []
    names = [t.name for t in before.tables] + [
        t.name for t in after.tables if t.name not in before.rows
    ]
    for name in names:
        old = before.rows.get(name, {})
        new = after.rows.get(name, {})
        for key in new.keys() - old.keys():
            changes.append(Change(name, key, "inserted"))
        for key in old.keys() - new.keys():
            changes.append(Change(name, key, "deleted"))
        for key in old.keys() & new.keys():
            if old[key] != new[key]:
                changes.append(Change(name, key, "updated"))
    return sorted(changes, key=lambda c: (names.index(c.table), c.kind, repr(c.key)))


def shape(changes: list[Change]) -> Counter[tuple[str, str]]:
    """How many rows of each table were inserted, updated or deleted: what 'all of a request's
    writes' means when its keys are random (uuid4) and differ from run to run."""
    return Counter((change.table, change.kind) for change in changes)
