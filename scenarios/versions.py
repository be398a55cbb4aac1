"""`python -m scenarios.versions`: the versions of what the harness runs on, one per line.

CI prints them for the lowest and the newest runs, so a report says which versions it proved.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "aiomysql",
    "pymysql",
    "psycopg",
    "fastapi",
    "starlette",
    "pydantic",
    "httpx",
    "hypothesis",
    "pytest",
)


def installed_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios.versions", description=__doc__)
    parser.add_argument("--write", type=Path, help="also write the lines to this file")
    args = parser.parse_args(argv)
    text = "".join(f"{name} {version}\n" for name, version in installed_versions().items())
    print(text, end="")
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
