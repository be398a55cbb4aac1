"""Which FastAPI a checked app runs, for `SCN004`: from 0.106 up to (not including) 0.118
FastAPI ran the code after a dependency's `yield` before sending the response, so a commit there
still happened before the client heard 2xx; from 0.118 on (and before 0.106) it runs after.

Where the version comes from, first found wins: the `fastapi-version` key, the range the project
declares (pyproject.toml `dependencies` / Poetry, requirements*.txt, setup.cfg / setup.py, the
nearest one above the file that names fastapi), then the FastAPI installed next to the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

BEFORE_RESPONSE = ((0, 106), (0, 118))  # [low, high): the exit code ran before the response
DECLARING = ("pyproject.toml", "setup.cfg", "setup.py")
SPEC = re.compile(
    r"""(?ix)(?<![\w.-])fastapi(?:\[[^\]]*\])?
    (?P<spec>(?:\s*(?:===|==|~=|>=|<=|!=|>|<)\s*[\d.*]+\s*,?)+)"""
)
POETRY = re.compile(
    r"""(?im)^\s*fastapi\s*=\s*(?:\{[^}]*version\s*=\s*)?["'](?P<spec>[^"']+)["']"""
)
CLAUSE = re.compile(r"(===|==|~=|>=|<=|!=|>|<|\^|~)?\s*([\d]+(?:\.[\d*]+)*)")

Version = tuple[int, ...]


@dataclass(frozen=True)
class Known:
    """The versions an app may run: [low, high) (high None: no upper bound), and how we know."""

    low: Version
    high: Version | None
    source: str

    def before_response(self) -> bool:
        """Every admitted version runs the exit code before the response."""
        low, high = BEFORE_RESPONSE
        return self.low >= low and self.high is not None and self.high <= high


def parse(text: str) -> Version:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _bump(version: Version, place: int) -> Version:
    kept = list(version[: place + 1]) + [0] * max(0, place + 1 - len(version))
    kept[place] += 1
    return tuple(kept)


def admitted(spec: str, source: str) -> Known | None:
    """The range of a requirement spec (`==0.115.0`, `>=0.110,<0.116`, `~=0.115.0`,
    `^0.115`), or None when it names no version."""
    low: Version = (0,)
    high: Version | None = None
    seen = False
    for operator, number in CLAUSE.findall(spec):
        if "*" in number:
            number = number.split(".*")[0]
            operator = "==*"
        version = parse(number)
        if not version:
            continue
        seen = True
        if operator in ("==", "===", "", "==*"):
            low, high = version, _bump(version, len(version) - 1)
        elif operator in (">=", ">"):
            low = max(low, version)
        elif operator == "<":
            high = version if high is None else min(high, version)
        elif operator == "<=":
            bound = (*version, 1)
            high = bound if high is None else min(high, bound)
        elif operator == "~=":
            low = max(low, version)
            bound = _bump(version, max(0, len(version) - 2))
            high = bound if high is None else min(high, bound)
        elif operator in ("^", "~"):
            low = max(low, version)
            first = next((i for i, p in enumerate(version) if p), len(version) - 1)
            place = len(version) - 2 if operator == "~" and len(version) > 1 else first
            bound = _bump(version, max(place, 0))
            high = bound if high is None else min(high, bound)
    return Known(low, high, source) if seen else None


@lru_cache(maxsize=256)
def declared_near(folder: Path) -> Known | None:
    """The fastapi range declared in the nearest file above `folder` that names fastapi."""
    for current in (folder, *folder.parents):
        names = [*DECLARING, *sorted(p.name for p in current.glob("requirements*.txt"))]
        for name in names:
            path = current / name
            if not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if "fastapi" not in text.lower():
                continue
            match = SPEC.search(text) or POETRY.search(text)
            if match is not None:
                return admitted(match["spec"], f"declared in {path.as_posix()}")
    return None


def installed() -> Known | None:
    try:
        version = parse(metadata.version("fastapi"))
    except metadata.PackageNotFoundError:
        return None
    return Known(version, _bump(version, len(version) - 1), "installed") if version else None


def known_for(file: Path, configured: str | None) -> Known | None:
    if configured is not None:
        found = admitted(configured, "fastapi-version in [tool.scenarios.lint]")
        if found is not None:
            return found
    return declared_near(file.resolve().parent) or installed()


def describe(known: Known) -> str:
    low = ".".join(map(str, known.low))
    high = ".".join(map(str, known.high)) if known.high else "any"
    return f"FastAPI {low} to below {high}, {known.source}"
