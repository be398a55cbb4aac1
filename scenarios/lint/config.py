"""`[tool.scenarios.lint]` in pyproject.toml, found from the paths being checked.

    [tool.scenarios.lint]
    composition-root = ["myapp.bootstrap", "myapp.di.*"]  # modules (fnmatch) that wire sessions
    entry-points = ["ops/*"]            # scripts and CLIs: paths (fnmatch)
    workers = ["consumers/*"]           # workers, scheduled jobs: paths
    tests = ["qa/*"]                    # test code: paths
    migrations = ["db/changes/*"]       # schema migrations: paths
    exclude = ["vendor/*"]              # never read: paths
    disable-defaults = ["entry-points"] # default lists to drop (see DEFAULTS)
    select = ["SCN001", "SCN002", "SCN004"]  # rules on (the default); "ALL", prefixes
    extend-select = ["SCN003"]          # added to select
    ignore = ["SCN004"]                 # taken out
    per-file-ignores = { "legacy/*" = ["SCN001"] }
    severity = { SCN004 = "warning" }   # error (fails the run), warning or info
    fastapi-version = "0.115.6"         # else the declared range, else the installed one

Every list adds to its default (`DEFAULTS`); `disable-defaults` drops a default list. Paths are
relative to the folder of the pyproject.toml, and a pattern also matches at any depth
(`tests/*` matches `src/app/tests/x.py`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from scenarios.lint.selection import Selection, SelectionError, build

KEYS = (
    "composition-root",
    "entry-points",
    "workers",
    "tests",
    "migrations",
    "exclude",
    "disable-defaults",
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "severity",
    "fastapi-version",
)
LIST_KEYS = KEYS[:6]
ROLES = ("tests", "migrations", "entry-points", "workers")
DEFAULTS: dict[str, tuple[str, ...]] = {
    "tests": (
        "tests/*",
        "test/*",
        "testing/*",
        "test_*.py",
        "*_test.py",
        "tests.py",
        "conftest.py",
        "fixtures/*",
    ),
    "migrations": ("alembic/*", "migrations/*", "revisions/*", "versions/*"),
    "entry-points": (
        "scripts/*",
        "script/*",
        "bin/*",
        "tools/*",
        "cli/*",
        "cli.py",
        "manage.py",
        "__main__.py",
        "commands/*",
        "management/*",
        "seed*.py",
    ),
    "workers": (
        "worker/*",
        "workers/*",
        "worker.py",
        "workers.py",
        "tasks/*",
        "tasks.py",
        "jobs/*",
        "cron/*",
        "scheduler/*",
    ),
    "composition-root": (),
    "exclude": (),
}


class ConfigError(ValueError):
    """pyproject.toml's `[tool.scenarios.lint]` cannot be used; the message says what to fix."""


def matches(relative: str, pattern: str) -> bool:
    return fnmatchcase(relative, pattern) or fnmatchcase(relative, f"*/{pattern}")


@dataclass(frozen=True)
class LintConfig:
    """Configured lists (without the defaults) and where they came from."""

    configured: dict[str, tuple[str, ...]] = field(default_factory=dict)
    disabled: tuple[str, ...] = ()
    base: Path | None = None  # the folder paths are relative to; None: each checked path
    source: Path | None = None  # the pyproject.toml read, if any
    selection: Selection = field(default_factory=Selection)
    fastapi_version: str | None = None  # `fastapi-version`, as configured

    def patterns(self, key: str) -> tuple[str, ...]:
        default = () if key in self.disabled else DEFAULTS[key]
        return (*default, *self.configured.get(key, ()))

    def relative(self, path: Path, checked: Path) -> str:
        base = self.base or (checked if checked.is_dir() else checked.parent)
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def path_role(self, relative: str) -> str | None:
        """`tests`, `migrations`, `entry-points`, `workers` or None, for a path relative to
        the base."""
        for key in ROLES:
            if any(matches(relative, p) for p in self.patterns(key)):
                return key
        return None

    def excluded(self, relative: str) -> bool:
        return any(matches(relative, p) for p in self.patterns("exclude"))

    def is_root(self, module: str) -> bool:
        return any(fnmatchcase(module, p) for p in self.patterns("composition-root"))

    def unmatched(self, relatives: list[str], modules: list[str]) -> list[str]:
        """Configured patterns that match no checked file (or module): likely typos."""
        found: list[str] = []
        for key, patterns in self.configured.items():
            for pattern in patterns:
                if key == "composition-root":
                    hit = any(fnmatchcase(m, pattern) for m in modules)
                else:
                    hit = any(matches(r, pattern) for r in relatives)
                if not hit:
                    found.append(f"{key} pattern {pattern!r} matches no checked file")
        return found


def has_lint_table(pyproject: Path) -> bool:
    try:
        with pyproject.open("rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return True  # let load_config report it
    tool = document.get("tool", {})
    return isinstance(tool, dict) and "lint" in tool.get("scenarios", {})


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml above `start` with a `[tool.scenarios.lint]` table, else the
    nearest pyproject.toml at all (its folder is then the base for default paths)."""
    start = start.resolve()
    folders = [start, *start.parents] if start.is_dir() else list(start.parents)
    first: Path | None = None
    for folder in folders:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            if has_lint_table(candidate):
                return candidate
            first = first or candidate
    return first


def _strings(table: dict[str, object], key: str, where: Path) -> tuple[str, ...]:
    value = table.get(key, [])
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
        raise ConfigError(f"{pyproject}: {error}") from None
    table = document.get("tool", {}).get("scenarios", {}).get("lint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.scenarios.lint] must be a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{pyproject}: unknown key(s) {unknown} in [tool.scenarios.lint]; "
            f"known: {', '.join(KEYS)}"
        )
    disabled = _strings(table, "disable-defaults", pyproject)
    wrong = sorted(set(disabled) - set(ROLES))
    if wrong:
        raise ConfigError(f"{pyproject}: disable-defaults names {wrong}; known: {', '.join(ROLES)}")
    configured = {key: _strings(table, key, pyproject) for key in LIST_KEYS}
    version = table.get("fastapi-version")
    if version is not None and not isinstance(version, str):
        raise ConfigError(f"{pyproject}: [tool.scenarios.lint] fastapi-version must be a string")
    return LintConfig(
        configured={k: v for k, v in configured.items() if v},
        disabled=disabled,
        base=pyproject.parent,
        source=pyproject,
        selection=_selection(table, pyproject),
        fastapi_version=version,
    )


def _table(table: dict[str, object], key: str, where: Path) -> dict[str, object]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [tool.scenarios.lint] {key} must be a table")
    return value


def _selection(table: dict[str, object], pyproject: Path) -> Selection:
    ignores: dict[str, tuple[str, ...]] = {}
    for pattern, codes in _table(table, "per-file-ignores", pyproject).items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(
                f"{pyproject}: [tool.scenarios.lint] per-file-ignores {pattern!r} must be a "
                "list of rule codes"
            )
        ignores[pattern] = tuple(codes)
    severity = _table(table, "severity", pyproject)
    if not all(isinstance(v, str) for v in severity.values()):
        raise ConfigError(f"{pyproject}: [tool.scenarios.lint] severity values must be strings")
    try:
        return build(
            select=_strings(table, "select", pyproject) if "select" in table else None,
            extend_select=_strings(table, "extend-select", pyproject),
            ignore=_strings(table, "ignore", pyproject),
            per_file_ignores=ignores,
            severity={k: str(v) for k, v in severity.items()},
            where=f"{pyproject}: [tool.scenarios.lint]",
        )
    except SelectionError as error:
        raise ConfigError(str(error)) from None
