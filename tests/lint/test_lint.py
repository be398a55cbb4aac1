"""The static check on small apps written here (sync and async), reaching a session maker the
ways real code does; on the reference app; and its command line. Each app marks the lines that
must be reported with `# finding`; every other line must not be."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import reference_app
from scenarios.lint import check, load_config
from scenarios.lint.__main__ import main
from tests.guard.conftest import line_of

REFERENCE_APP = Path(reference_app.__file__).parent

DB_SYNC = """
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///app.sqlite3")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    with SessionLocal() as db:  # the composition root may open sessions
        yield db
"""

DB_ASYNC = """
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine


def build_maker(url: str) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(create_async_engine(url))


def make_plain(url):
    return async_sessionmaker(create_async_engine(url))
"""


def write_app(root: Path, files: dict[str, str]) -> Path:
    """A package `app` under `root` with the given modules (`__init__.py` added where missing)."""
    for name, source in files.items():
        path = root / "app" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    for folder in {p.parent for p in (root / "app").rglob("*.py")} | {root / "app"}:
        (folder / "__init__.py").touch()
    return root / "app"


def expected_findings(app: Path) -> set[str]:
    return {
        f"{path}:{n}"
        for path in app.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.rstrip().endswith("# finding")
    }


def found(app: Path, pyproject: Path | None = None) -> set[str]:
    return {f"{f.path}:{f.line}" for f in check([app], load_config(pyproject))}


def test_module_global_reached_by_import_alias_from_import_and_module_attribute(
    tmp_path: Path,
) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": DB_SYNC,
            "services.py": """
                import app.db
                import app.db as database
                from app.db import SessionLocal
                from app.db import SessionLocal as make_session
                from . import db as relative_db


                def by_name():
                    with SessionLocal() as session:  # finding
                        return session


                def by_alias():
                    return make_session()  # finding


                def by_module_alias():
                    return database.SessionLocal()  # finding


                def by_dotted_module():
                    return app.db.SessionLocal()  # finding


                def by_relative_import():
                    return relative_db.SessionLocal.begin()  # finding
                """,
        },
    )
    assert found(app) == expected_findings(app)
    assert len(expected_findings(app)) == 5


def test_reexport_through_a_package_and_an_alias_assignment(tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        {
            "infra/db.py": DB_SYNC,
            "infra/__init__.py": "from app.infra.db import SessionLocal as Factory\n",
            "handlers.py": """
                from app.infra import Factory

                opener = Factory


                def handle():
                    local = opener
                    return local()  # finding
                """,
        },
    )
    assert found(app) == expected_findings(app)


def test_attribute_set_from_a_maker_or_an_annotated_parameter(tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": DB_SYNC,
            "repository.py": """
                from dataclasses import dataclass
                from typing import Callable

                from sqlalchemy.orm import Session, sessionmaker

                from app.db import SessionLocal


                class FromGlobal:
                    def __init__(self):
                        self._factory = SessionLocal

                    def save(self):
                        with self._factory() as s:  # finding
                            s.commit()


                class FromParameter:
                    def __init__(self, factory: "sessionmaker[Session]") -> None:
                        self.factory = factory

                    def save(self):
                        def inner():
                            return self.factory()  # finding
                        return inner()


                class FromCallable:
                    def __init__(self, make: Callable[[], Session]) -> None:
                        self._make = make

                    def save(self):
                        return self._make()  # finding


                @dataclass
                class Deps:
                    session_factory: sessionmaker[Session]

                    def open(self):
                        return self.session_factory()  # finding


                class GivenASession:
                    def __init__(self, db: Session) -> None:
                        self._db = db
                        self.other = {}

                    def save(self):
                        self._db.commit()
                        return self.other.get("x")
                """,
        },
    )
    assert found(app) == expected_findings(app)


def test_factory_function_return_and_di_parameters_async(tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": DB_ASYNC,
            "api.py": """
                from functools import partial
                from typing import Annotated, Optional

                from fastapi import Depends
                from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

                from app.db import build_maker, make_plain

                maker = build_maker("sqlite+aiosqlite:///app.sqlite3")


                async def get_maker() -> async_sessionmaker[AsyncSession]:
                    return maker


                async def from_factory():
                    async with maker() as db:  # finding
                        await db.commit()


                async def from_unannotated_factory():
                    plain = make_plain("sqlite+aiosqlite:///app.sqlite3")
                    return plain()  # finding


                async def fastapi_annotated(
                    m: Annotated[async_sessionmaker[AsyncSession], Depends(get_maker)],
                ):
                    async with m.begin() as db:  # finding
                        return db


                async def fastapi_default(m=Depends(get_maker)):
                    return m()  # finding


                async def optional(m: Optional[async_sessionmaker[AsyncSession]] = None):
                    if m is not None:
                        return m()  # finding


                async def union(m: async_sessionmaker[AsyncSession] | None = None):
                    return m() if m else None  # finding


                async def partial_session():
                    opener = partial(AsyncSession, expire_on_commit=False)
                    return opener()  # finding
                """,
        },
    )
    assert found(app) == expected_findings(app)


def test_direct_construction_of_sessions_and_subclasses(tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        {
            "work.py": """
                import sqlalchemy.orm as orm
                from sqlalchemy.ext.asyncio import AsyncSession
                from sqlalchemy.orm import Session as OrmSession


                class AuditedSession(OrmSession):
                    pass


                def sync_work(engine):
                    with OrmSession(engine) as s:  # finding
                        s.commit()
                    return orm.Session(bind=engine)  # finding


                async def async_work(engine):
                    async with AsyncSession(engine) as s:  # finding
                        await s.commit()


                def audited(engine):
                    return AuditedSession(engine)  # finding
                """,
        },
    )
    assert found(app) == expected_findings(app)


def test_annotations_imports_isinstance_and_lookalike_names_are_never_findings(
    tmp_path: Path,
) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": DB_SYNC,
            "quiet.py": """
                from typing import TYPE_CHECKING, cast

                from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
                from sqlalchemy.orm import Session, sessionmaker

                from app.db import SessionLocal

                if TYPE_CHECKING:
                    from app.db import SessionLocal as Hinted

                Factory = sessionmaker[Session]


                def session_maker():
                    return {"not": "a session maker"}


                def uses_a_given_session(db: Session, other: "AsyncSession") -> bool:
                    if isinstance(db, Session) or isinstance(other, (Session, AsyncSession)):
                        cast(AsyncSession, other)
                        Session.object_session(db)
                        SessionLocal.configure(autoflush=False)
                        return session_maker() is not None
                    return False


                def typed(maker: async_sessionmaker[AsyncSession]) -> type[Session]:
                    del maker
                    return Session
                """,
        },
    )
    assert found(app) == set()


def test_reference_app_flags_the_second_session_and_nothing_in_the_fixed_wirings() -> None:
    two_sessions = REFERENCE_APP / "wirings" / "two_sessions.py"
    findings = check([REFERENCE_APP], load_config(None))
    assert [(f.path, f.line) for f in findings] == [
        (two_sessions, line_of(two_sessions, "self._session_maker()"))
    ]
    assert "async_sessionmaker[AsyncSession]" in findings[0].reason


@pytest.mark.parametrize("wiring", ["session_module", "commit_in_save", "unit_of_work"])
def test_reference_app_fixed_wirings_checked_alone_are_clean(wiring: str) -> None:
    assert check([REFERENCE_APP / "wirings" / f"{wiring}.py"], load_config(None)) == []


def test_composition_root_and_exclusions_from_pyproject(tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": DB_SYNC.replace("with SessionLocal() as db:", "with SessionLocal() as db:  #")
            + "\n\ndef second():\n    return SessionLocal()  # finding\n",
            "bootstrap.py": """
                from app.db import SessionLocal


                def request_scope():
                    return SessionLocal()
                """,
            "migrations/env.py": """
                from app.db import SessionLocal

                SessionLocal()
                """,
        },
    )
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.scenarios.lint]\ncomposition-root = ["app.boot*"]\nexclude = ["app/migrations/*"]\n'
    )
    expected = expected_findings(app) | {f"{app / 'db.py'}:{line_of(app / 'db.py', 'as db:  #')}"}
    assert found(app, pyproject) == expected
    assert len(expected) == 2


def test_command_line_prints_file_line_reason_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(
        tmp_path,
        {"db.py": DB_SYNC, "svc.py": "from app.db import SessionLocal\n\nSessionLocal()\n"},
    )
    monkeypatch.chdir(tmp_path)
    assert main(["app"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "app/svc.py:3: opens a session of its own with SessionLocal() outside the composition "
        "root; SessionLocal is a session maker (the sessionmaker(...) at app/db.py:5)"
    ]
    (app / "svc.py").write_text("from app.db import get_db\n")
    assert main(["app"]) == 0
    assert capsys.readouterr().out == ""


def test_command_line_bad_usage_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in ([], ["no/such/path"], ["--config", "missing.toml", "."]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    (tmp_path / "pyproject.toml").write_text('[tool.scenarios.lint]\ncomposition-root = "app"\n')
    with pytest.raises(SystemExit) as exited:
        main(["."])
    assert exited.value.code == 2
    assert "must be a list of strings" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "broken.py").write_text("def (:\n")
    assert main(["."]) == 2


def test_python_dash_m_runs_it_on_the_reference_app() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scenarios.lint", str(REFERENCE_APP)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REFERENCE_APP.parent,
    )
    assert result.returncode == 1
    line = line_of(REFERENCE_APP / "wirings" / "two_sessions.py", "self._session_maker()")
    assert result.stdout.startswith(f"reference_app/wirings/two_sessions.py:{line}: ")
    assert len(result.stdout.splitlines()) == 1
