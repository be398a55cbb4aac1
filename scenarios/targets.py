"""Finding the adapter a run points at: `module:attribute`, from an option or pyproject.toml."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from scenarios.adapter import TargetFactory
from scenarios.inputs import scenarios_table
from scenarios.loading import NotLoadable, load_attribute


class TargetNotFound(LookupError):
    pass


def configured_target(pyproject: Path = Path("pyproject.toml")) -> str | None:
    """`[tool.scenarios] target` of the project in the current directory, if any (raises
    inputs.BadInput when the file or the table is malformed)."""
    value = scenarios_table(pyproject).get("target")
    return value if isinstance(value, str) else None


def load_target(spec: str) -> TargetFactory:
    try:
        factory = load_attribute(spec)
    except NotLoadable as error:
        raise TargetNotFound(f"target {spec!r}: {error}") from None
    for needed in ("open", "wirings", "expected_outcome", "name"):
        if not hasattr(factory, needed):
            raise TargetNotFound(f"target {spec!r} has no {needed!r}: is it a TargetFactory?")
    return cast(TargetFactory, factory)
