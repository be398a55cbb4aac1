"""Finding the adapter a run points at: `module:attribute`, from an option or pyproject.toml."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from typing import cast

from scenarios.adapter import TargetFactory


class TargetNotFound(LookupError):
    pass


def configured_target(pyproject: Path = Path("pyproject.toml")) -> str | None:
    """`[tool.scenarios] target` of the project in the current directory, if any."""
    if not pyproject.is_file():
        return None
    with pyproject.open("rb") as file:
        value = tomllib.load(file).get("tool", {}).get("scenarios", {}).get("target")
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
    try:
        factory = getattr(module, attribute)
    except AttributeError:
        raise TargetNotFound(f"{module_name!r} has no attribute {attribute!r}") from None
    for needed in ("open", "wirings", "expected_outcome", "name"):
        if not hasattr(factory, needed):
            raise TargetNotFound(f"target {spec!r} has no {needed!r}: is it a TargetFactory?")
    return cast(TargetFactory, factory)
