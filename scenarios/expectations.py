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

A wiring whose bug depends on a library's version says for which versions its table holds:

```toml
[holds_for]
commit_in_dependency = "fastapi>=0.118"   # comma-separated: name>=X.Y, name<X.Y, name==X.Y
```

Where the installed versions do not meet it, that wiring expects `ok` everywhere: a run on an
older FastAPI must not call a wiring broken that is not broken there.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from scenarios.outcomes import Outcome

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(>=|<|==)\s*(\d+(?:\.\d+)*)\s*$")


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def requirement_met(requirement: str) -> bool:
    """Whether the installed distributions meet `name>=X.Y, name<X.Y, ...`."""
    for clause in requirement.split(","):
        match = _REQUIREMENT.match(clause)
        if match is None:
            raise ValueError(f"{requirement!r}: each clause must read name>=X.Y, name<X.Y or ==")
        name, operator, wanted = match.groups()
        try:
            installed = _release(version(name))
        except PackageNotFoundError:
            return False
        target = _release(wanted)
        met = {
            ">=": installed >= target,
            "<": installed < target,
            "==": installed[: len(target)] == target,
        }[operator]
        if not met:
            return False
    return True


class ExpectedOutcomes:
    def __init__(self, table: Mapping[str, Any] | None = None) -> None:
        self._table: dict[str, dict[str, dict[str, str]]] = {}
        self.holds_for: dict[str, str] = {}
        known = {outcome.value for outcome in Outcome}
        table = dict(table or {})
        for wiring, requirement in dict(table.pop("holds_for", {})).items():
            if not isinstance(requirement, str):
                raise ValueError(f"[holds_for] {wiring} must be a string like 'fastapi>=0.118'")
            requirement_met(requirement)  # parse it now: a typo is reported at load time
            self.holds_for[wiring] = requirement
        for wiring, databases in table.items():
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
        requirement = self.holds_for.get(wiring)
        if requirement is not None and not requirement_met(requirement):
            return Outcome.OK.value
        cells = self._table.get(wiring, {}).get(database, {})
        for key in (f"{scenario}[{interleaving}]", scenario, "default"):
            if key in cells:
                return cells[key]
        return Outcome.OK.value
