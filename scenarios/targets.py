"""Finding the adapter a run points at: `module:attribute`, from an option or pyproject.toml."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import cast

from scenarios.adapter import TargetFactory
from scenarios.inputs import scenarios_table


class TargetNotFound(LookupError):
    pass


def configured_target(pyproject: Path = Path("pyproject.toml")) -> str | None:
    """`[tool.scenarios] target` of the project in the current directory, if any (raises
    inputs.BadInput when the file or the table is malformed)."""
    value = scenarios_table(pyproject).get("target")
    return value if isinstance(value, str) else None


def load_target(spec: str) -> TargetFactory:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise TargetNotFound(f"target {spec!r} must look like 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise TargetNotFound(
            f"cannot import {module_name!r} for target {spec!r}: {error}"
        ) from error
    except ValueError as error:  # a malformed expected_outcomes.toml read at import, and such
        raise TargetNotFound(f"cannot load target {spec!r}: {error}") from error
    try:
        factory = getattr(module, attribute)
    except AttributeError:
        raise TargetNotFound(f"{module_name!r} has no attribute {attribute!r}") from None
    for needed in ("open", "wirings", "expected_outcome", "name"):
        if not hasattr(factory, needed):
            raise TargetNotFound(f"target {spec!r} has no {needed!r}: is it a TargetFactory?")
    return cast(TargetFactory, factory)
