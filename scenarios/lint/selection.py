"""Which rules run and how much each one weighs, as teams know it from ruff: `select`,
`extend-select`, `ignore`, `per-file-ignores` and `severity`, from `[tool.scenarios.lint]` and
from the command line (which wins).

A code is a rule (`SCN001`), a prefix of rules (`SCN00`) or `ALL`. By default `SCN003` is not
selected: it flags a design (a service that opens its own session is the unit of work in a
session-per-method codebase), not a bug; `SCN001` follows the calls instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from scenarios.lint.findings import RULES

DEFAULT_SELECT = ("SCN001", "SCN002", "SCN004")
LEVELS = ("error", "warning", "info")
DEFAULT_LEVELS = {"SCN001": "error", "SCN002": "error", "SCN003": "warning", "SCN004": "error"}


class SelectionError(ValueError):
    """A rule code or level that does not exist; the message names it and the known ones."""


def expand(codes: tuple[str, ...], where: str) -> frozenset[str]:
    """The rules that `codes` name (codes, prefixes or `ALL`)."""
    found: set[str] = set()
    for code in codes:
        text = code.strip().upper()
        matched = set(RULES) if text == "ALL" else {r for r in RULES if r.startswith(text)}
        if not text or not matched:
            raise SelectionError(
                f"{where}: unknown rule code {code!r}; known: ALL, {', '.join(RULES)}"
            )
        found |= matched
    return frozenset(found)


def matches(relative: str, pattern: str) -> bool:
    return fnmatchcase(relative, pattern) or fnmatchcase(relative, f"*/{pattern}")


@dataclass(frozen=True)
class Selection:
    """The rules on, the ones off for some paths, and the level of each."""

    selected: frozenset[str] = frozenset(DEFAULT_SELECT)
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    levels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LEVELS))

    def enabled(self, code: str, relative: str) -> bool:
        if code not in self.selected:
            return False
        return not any(
            code in codes and matches(relative, pattern) for pattern, codes in self.per_file_ignores
        )

    def level(self, code: str) -> str:
        return self.levels.get(code, "error")


def build(
    *,
    select: tuple[str, ...] | None = None,
    extend_select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    per_file_ignores: dict[str, tuple[str, ...]] | None = None,
    severity: dict[str, str] | None = None,
    where: str = "configuration",
) -> Selection:
    chosen = expand(select, where) if select is not None else frozenset(DEFAULT_SELECT)
    chosen = (chosen | expand(extend_select, where)) - expand(ignore, where)
    ignores = tuple(
        (pattern, expand(codes, f"{where}: per-file-ignores {pattern!r}"))
        for pattern, codes in (per_file_ignores or {}).items()
    )
    levels = dict(DEFAULT_LEVELS)
    for code, level in (severity or {}).items():
        if level not in LEVELS:
            raise SelectionError(
                f"{where}: severity of {code} is {level!r}; known: {', '.join(LEVELS)}"
            )
        for rule in expand((code,), f"{where}: severity"):
            levels[rule] = level
    return Selection(frozenset(chosen), ignores, levels)


def with_flags(
    base: Selection,
    *,
    select: tuple[str, ...] | None,
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> Selection:
    """The command line over the configuration: `--select` replaces, the others add."""
    chosen = expand(select, "--select") if select is not None else base.selected
    chosen = (chosen | expand(extend_select, "--extend-select")) - expand(ignore, "--ignore")
    return Selection(frozenset(chosen), base.per_file_ignores, base.levels)


def codes_of(text: str) -> tuple[str, ...]:
    """`SCN001,SCN002` (a flag's value) as codes."""
    return tuple(part for part in (p.strip() for p in text.split(",")) if part)
