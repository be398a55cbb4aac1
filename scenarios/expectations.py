"""Expected outcomes per wiring and database, from a TOML table kept beside an adapter.

```toml
[two_sessions.postgresql]
default = "fk_violation"                 # every scenario of this cell...
message_to_existing_session = "lost_write"   # ...but this one
"interleaved_same_session[a@after_user_message b a b@after_user_message]" = "error"
```

A list of outcomes means any of them is as expected: only for cases whose result honestly
depends on timing (real concurrency), with the reason in a comment beside it. The expectation
then reads `ok|partial_commit`.

Lookup order: `scenario[interleaving]`, `scenario`, `default`, then `ok`: a ported app with no
table at all expects `ok` everywhere.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from scenarios.outcomes import Outcome


class ExpectedOutcomes:
    def __init__(
        self, table: Mapping[str, Mapping[str, Mapping[str, str | list[str]]]] | None = None
    ) -> None:
        self._table: dict[str, dict[str, dict[str, str]]] = {}
        known = {outcome.value for outcome in Outcome}
        for wiring, databases in (table or {}).items():
            if not isinstance(databases, Mapping):
                raise ValueError(f"{wiring} = {databases!r}: must be a table [{wiring}.DATABASE]")
            for database, cells in databases.items():
                if not isinstance(cells, Mapping):
                    raise ValueError(
                        f"{wiring}.{database} = {cells!r}: must be a table of scenario = outcome"
                    )
                for key, value in cells.items():
                    outcomes = [value] if isinstance(value, str) else value
                    if not isinstance(outcomes, list):
                        outcomes = [repr(value)]
                    unknown = [o for o in outcomes if o not in known]
                    if unknown or not outcomes:
                        raise ValueError(
                            f"[{wiring}.{database}] {key} = {value!r}: not an outcome; "
                            f"choose from {sorted(known)}"
                        )
                    cell = self._table.setdefault(wiring, {}).setdefault(database, {})
                    cell[key] = "|".join(outcomes)

    @classmethod
    def from_toml(cls, path: Path) -> ExpectedOutcomes:
        try:
            with path.open("rb") as file:
                return cls(tomllib.load(file))
        except OSError as error:
            raise ValueError(f"{path}: cannot read it: {error.strerror or error}") from None
        except (tomllib.TOMLDecodeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None

    def __call__(self, scenario: str, interleaving: str, wiring: str, database: str) -> str:
        cells = self._table.get(wiring, {}).get(database, {})
        for key in (f"{scenario}[{interleaving}]", scenario, "default"):
            if key in cells:
                return cells[key]
        return Outcome.OK.value
