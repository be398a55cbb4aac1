"""How fast the static check reads a codebase: files a second, on a generated 700-file app and
on this repository.

The generated app has the shape of a large FastAPI service (packages of models, repositories,
services and routes, one session maker, `get_db`, a few real second-session bugs), so every
file goes through import resolution and the rules. Issue 12 asks for a 700-file codebase in a
few seconds; this module only measures and writes reports/bench-lint.json, and no test asserts
a timing. `nox -s bench` calls `measure_lint_speed()`; `python -m benchmarks.lint_speed` runs
it alone, and `--path DIR` measures any tree (a codebase you cloned, for example).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.tables import table
from scenarios.lint import LintConfig, check

DEFAULT_FILES = 700
DEFAULT_REPEATS = 3
DEFAULT_OUTPUT = Path("reports") / "bench-lint.json"
REPO_ROOT = Path(__file__).resolve().parent.parent
FILES_PER_PACKAGE = 7  # __init__, models, schemas, repository, service, routes, tasks

DB = """
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://localhost/app")
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db():
    async with SessionLocal() as session:
        yield session
"""

PACKAGE = {
    "models.py": """
        from dataclasses import dataclass


        @dataclass
        class {Name}:
            id: int
            title: str
        """,
    "schemas.py": """
        from pydantic import BaseModel


        class {Name}In(BaseModel):
            title: str
        """,
    "repository.py": """
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.{name}.models import {Name}


        class {Name}Repository:
            def __init__(self, session: AsyncSession) -> None:
                self.session = session

            async def add(self, item: {Name}) -> None:
                self.session.add(item)
                await self.session.flush()
        """,
    "service.py": """
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.db import SessionLocal
        from app.{name}.models import {Name}
        from app.{name}.repository import {Name}Repository


        class {Name}Service:
            def __init__(self, session: AsyncSession) -> None:
                self.repository = {Name}Repository(session)

            async def create(self, title: str) -> {Name}:
                item = {Name}(id=0, title=title)
                await self.repository.add(item)
                {bug}
                return item
        """,
    "routes.py": """
        from fastapi import APIRouter, Depends
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.db import get_db
        from app.{name}.schemas import {Name}In
        from app.{name}.service import {Name}Service

        router = APIRouter()


        @router.post("/{name}")
        async def create(body: {Name}In, db: AsyncSession = Depends(get_db)):
            item = await {Name}Service(db).create(body.title)
            await db.commit()
            return item
        """,
    "tasks.py": """
        from app.db import SessionLocal
        from app.{name}.service import {Name}Service


        async def nightly() -> None:
            async with SessionLocal() as session:
                await {Name}Service(session).create("nightly")
                await session.commit()
        """,
}
BUG = "async with SessionLocal() as audit:\n                    audit.add(item)"


def generate_app(root: Path, files: int) -> Path:
    """A FastAPI-shaped app of about `files` Python files under `root/app`; every tenth
    package's service opens a second session (a real finding)."""
    app = root / "app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "db.py").write_text(textwrap.dedent(DB).lstrip())
    for index in range(max(1, (files - 2) // FILES_PER_PACKAGE)):
        name = f"feature{index:03d}"
        package = app / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        for file, template in PACKAGE.items():
            source = textwrap.dedent(template).lstrip()
            source = source.replace("{Name}", name.capitalize()).replace("{name}", name)
            source = source.replace("{bug}", BUG if index % 10 == 0 else "pass")
            (package / file).write_text(source)
    return app


def _time_check(path: Path, repeats: int, config: LintConfig | None) -> dict[str, Any]:
    """`config` None: the configuration found from the path, as the command line does."""
    times: list[float] = []
    report = None
    for _ in range(repeats):
        started = time.perf_counter()
        report = check([path], config)
        times.append(time.perf_counter() - started)
    assert report is not None
    seconds = statistics.median(times)
    return {
        "files": report.files,
        "skipped": len(report.skipped),
        "findings": len(report.findings),
        "median_s": round(seconds, 3),
        "runs_s": [round(t, 3) for t in times],
        "files_per_s": round(report.files / seconds, 1) if seconds else None,
    }


def measure_lint_speed(
    files: int = DEFAULT_FILES,
    repeats: int = DEFAULT_REPEATS,
    output: Path = DEFAULT_OUTPUT,
    paths: Sequence[Path] = (),
) -> dict[str, Any]:
    """Median wall time of `check()` over the generated app, this repository and `paths`."""
    result: dict[str, Any] = {"python": sys.version.split()[0], "repeats": repeats, "trees": {}}
    with tempfile.TemporaryDirectory() as folder:
        app = generate_app(Path(folder), files)
        generated = _time_check(app, repeats, LintConfig(base=app.parent))
        result["trees"][f"generated app ({files} files asked)"] = generated
    result["trees"]["this repository, its own config"] = _time_check(REPO_ROOT, repeats, None)
    for path in paths:
        result["trees"][str(path)] = _time_check(path, repeats, None)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    return result


def markdown(part: dict[str, Any]) -> list[str]:
    """This part's section of reports/bench.md (`nox -s bench`): `part` holds the measure's
    source and result, or its error."""
    lines = ["## Static check speed", ""]
    result = part.get("result")
    if not isinstance(result, dict):
        return [*lines, str(part.get("error")), ""]
    rows = [
        [name, t["files"], t["median_s"], t["files_per_s"], t["findings"]]
        for name, t in result["trees"].items()
    ]
    return [
        *lines,
        f"From `{part['source']}()`: `check()` wall time, median of {result['repeats']}.",
        "",
        *table(["tree", "files", "seconds", "files/s", "findings"], rows),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lint_speed", description=__doc__)
    parser.add_argument("--files", type=int, default=DEFAULT_FILES)
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--path", type=Path, action="append", default=[])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    result = measure_lint_speed(args.files, args.repeats, args.output, args.path)
    for name, tree in result["trees"].items():
        print(
            f"{name}: {tree['files']} files in {tree['median_s']} s "
            f"({tree['files_per_s']} files/s), {tree['findings']} finding(s)"
        )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
