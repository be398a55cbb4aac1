"""The static check's resolution on small apps written here (sync and async), reaching a
session maker the ways real code does, and on the reference app. Each app marks the lines that
must be reported with `# finding`; every other line must not be. The command line, formats and
configuration are in test_command_line.py; real-world shapes in test_corpus.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import reference_app
from scenarios.lint import LintConfig, check, load_config
from scenarios.lint.selection import build
from tests.guard.conftest import line_of

EVERY_RULE = build(select=("ALL",))  # these apps prove SCN003 too, which is off by default

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
    config = load_config(pyproject) if pyproject else LintConfig(base=app.parent)
    return {f"{f.path}:{f.line}" for f in check([app], config, EVERY_RULE).findings}


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
                        session.commit()


                def by_alias():
                    make_session().commit()  # finding


                def by_module_alias():
                    database.SessionLocal().commit()  # finding


                def by_dotted_module():
                    app.db.SessionLocal().commit()  # finding


                def by_relative_import():
                    with relative_db.SessionLocal.begin() as session:  # finding
                        session.add(1)
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
                    local().commit()  # finding
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
                            self.factory().commit()  # finding
                        return inner()


                class FromCallable:
                    def __init__(self, make: Callable[[], Session]) -> None:
                        self._make = make

                    def save(self):
                        self._make().commit()  # finding


                @dataclass
                class Deps:
                    session_factory: sessionmaker[Session]

                    def open(self):
                        self.session_factory().commit()  # finding


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
                    await plain().commit()  # finding


                async def fastapi_annotated(
                    m: Annotated[async_sessionmaker[AsyncSession], Depends(get_maker)],
                ):
                    async with m.begin() as db:  # finding
                        db.add(1)


                async def fastapi_default(m=Depends(get_maker)):
                    await m().commit()  # finding


                async def optional(m: Optional[async_sessionmaker[AsyncSession]] = None):
                    if m is not None:
                        await m().commit()  # finding


                async def union(m: async_sessionmaker[AsyncSession] | None = None):
                    await (m() if m else None).commit()  # finding


                async def partial_session():
                    opener = partial(AsyncSession, expire_on_commit=False)
                    await opener().commit()  # finding
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


                def orm_attribute(engine):
                    orm.Session(bind=engine).commit()  # finding


                async def async_work(engine):
                    async with AsyncSession(engine) as s:  # finding
                        await s.commit()


                def audited(engine):
                    AuditedSession(engine).commit()  # finding
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


def test_reference_app_flags_the_second_session_first_and_nothing_in_the_fixed_wirings() -> None:
    two_sessions = REFERENCE_APP / "wirings" / "two_sessions.py"
    after_response = REFERENCE_APP / "wirings" / "commit_in_dependency.py"
    findings = check([REFERENCE_APP], load_config(None)).findings
    assert [(f.path, f.line, f.code) for f in findings] == [
        (two_sessions, line_of(two_sessions, "self._session_maker()"), "SCN001"),
        (after_response, line_of(after_response, "await db.commit()"), "SCN004"),
    ]
    assert "async_sessionmaker[AsyncSession]" in findings[0].reason
    assert "parameter `db: AsyncSession`" in findings[0].reason


@pytest.mark.parametrize(
    "wiring", ["session_module", "commit_in_save", "unit_of_work", "commit_before_response"]
)
def test_reference_app_fixed_wirings_checked_alone_are_clean(wiring: str) -> None:
    path = REFERENCE_APP / "wirings" / f"{wiring}.py"
    assert check([path], load_config(None)).findings == []


def test_code_that_unpacks_its_own_result_or_looks_like_a_route_is_read_without_error(
    tmp_path: Path,
) -> None:
    """Found on the standard library (a function unpacking a call of itself recursed without
    end) and on SQLAlchemy's source (`@x.get(key)` decorators that are not routes)."""
    app = write_app(
        tmp_path,
        {
            "db.py": DB_SYNC,
            "odd.py": """
                from fastapi import Depends

                from app.db import get_db


                def parse(text):
                    head, rest = parse(text[1:]) if text else ("", "")
                    return head, rest


                class Registry:
                    def get(self, key):
                        return lambda f: f


                registry = Registry()


                @registry.get(parse)
                def not_a_route(a=Depends(get_db), b=Depends(get_db, use_cache=False)):
                    return a, b
                """,
        },
    )
    report = check([app], LintConfig(base=app.parent))
    assert report.findings == []
    assert report.skipped == []


def test_route_dependencies_list_and_a_class_dependency_count_in_the_tree(tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": DB_SYNC,
            "routes.py": """
                from typing import Annotated

                from fastapi import APIRouter, Depends

                from app.db import get_db

                router = APIRouter()


                def get_other_db():
                    from app.db import SessionLocal

                    with SessionLocal() as db:
                        yield db


                class Audit:
                    def __init__(self, db=Depends(get_other_db)):
                        self.db = db


                @router.post("/a", dependencies=[Depends(get_db, use_cache=False)])
                def a(db=Depends(get_db, use_cache=False)):  # finding
                    db.commit()


                @router.post("/b")
                def b(audit: Annotated[Audit, Depends()], db=Depends(get_db)):  # finding
                    db.commit()


                @router.post("/c", dependencies=[Depends(get_db)])
                def c(db=Depends(get_db)):
                    db.commit()
                """,
        },
    )
    report = check([app], LintConfig(base=app.parent))
    assert {f"{f.path}:{f.line}" for f in report.findings} == expected_findings(app)
    assert {f.code for f in report.findings} == {"SCN002"}
