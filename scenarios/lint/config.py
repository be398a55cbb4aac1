"""`[tool.scenarios.lint]` in pyproject.toml: which modules are the composition root.

    [tool.scenarios.lint]
    composition-root = ["myapp.bootstrap", "myapp.di.*"]   # module names, fnmatch patterns
    exclude = ["migrations/*"]                             # paths, relative to pyproject.toml

Without `composition-root`, a module that creates a session maker (`sessionmaker(...)`,
`async_sessionmaker(...)`) is a composition root, so `get_db()` beside it may open sessions.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path


class ConfigError(ValueError):
    """pyproject.toml's `[tool.scenarios.lint]` cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class LintConfig:
    composition_root: tuple[str, ...] | None = None  # None: modules that create a maker
    exclude: tuple[str, ...] = ()
    base: Path = Path()

    def is_root(self, module: str) -> bool:
        assert self.composition_root is not None
        return any(fnmatchcase(module, pattern) for pattern in self.composition_root)

    def excluded(self, path: Path) -> bool:
        try:
            relative = path.resolve().relative_to(self.base.resolve()).as_posix()
        except ValueError:
            return False
        return any(fnmatchcase(relative, pattern) for pattern in self.exclude)


def find_pyproject(start: Path) -> Path | None:
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _strings(table: dict[str, object], key: str, where: Path) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.scenarios.lint] {key} must be a list of strings")
    return tuple(value)


def load_config(pyproject: Path | None) -> LintConfig:
    if pyproject is None:
        return LintConfig()
    try:
        with pyproject.open("rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{pyproject}: {error}") from error
    table = document.get("tool", {}).get("scenarios", {}).get("lint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.scenarios.lint] must be a table")
    unknown = sorted(set(table) - {"composition-root", "exclude"})
    if unknown:
        raise ConfigError(
            f"{pyproject}: unknown key(s) {unknown} in [tool.scenarios.lint]; "
            "known: composition-root, exclude"
        )
    return LintConfig(
        composition_root=_strings(table, "composition-root", pyproject),
        exclude=_strings(table, "exclude", pyproject) or (),
        base=pyproject.parent,
    )
