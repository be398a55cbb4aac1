"""A small async FastAPI app over one `notes` table, wired in the ways the guard must tell
apart: a correct request, the incident app's bug (a repository opening its own session), and its
relatives. Each buggy wiring has a clean twin. Shapes taken from public apps and threads:
`get_db` with `yield` as in FastAPI's SQL tutorial, a repository built on the session maker as
in the seed, Core `session.execute(insert(...))` writes as in tiangolo's full-stack template's
CRUD helpers, a commit after `yield` (fastapi/fastapi discussion "dependencies with yield run
after the response" since 0.118), and background tasks that open their own session.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel
from sqlalchemy import String, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

WIRINGS = (
    "clean",
    "repository_own_session",  # the incident app's bug
    "core_own_session",  # the same, written with Core statements (no flush at all)
    "core_clean",
    "commit_in_dependency",  # get_db commits after yield: after the response
    "commit_in_dependency_function_scope",  # the fix: Depends(..., scope="function")
    "forgotten_commit",
    "unflushed_add",
    "swallowed_error",
    "depends_twice",
    "read_only_lookup",  # harmless: a note, never a finding
    "background_own_session",  # a background task with a session of its own, committed
    "background_lost",  # the same, never committed
    "task_own_session",  # asyncio.create_task with a session of its own, committed
    "task_lost",
)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "guard_api_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(50), unique=True)


class NoteIn(BaseModel):
    body: str


class NoteRepository:
    """Writes notes on the session it is given (correct) ..."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, body: str) -> None:
        self.session.add(Note(body=body))
        await self.session.flush()


class OwnSessionNoteRepository:
    """... or on a session it opens itself from the maker: the incident app's bug."""

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self.maker = maker

    async def add(self, body: str) -> None:
        async with self.maker() as own:  # guard: repository session
            own.add(Note(body=body))
            await own.flush()

    async def add_with_core(self, body: str) -> None:
        async with self.maker() as own:  # guard: core session
            await own.execute(insert(Note).values(body=body))


def build_app(engine: AsyncEngine, wiring: str, *, http_middleware: bool = False) -> FastAPI:
    """The app; `http_middleware` adds a `@app.middleware("http")` (Starlette's
    BaseHTTPMiddleware), which runs the route in a task of its own."""
    if wiring not in WIRINGS:
        raise ValueError(f"unknown wiring {wiring!r}; one of {', '.join(WIRINGS)}")
    maker = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()
    if http_middleware:

        @app.middleware("http")
        async def passthrough(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            return await call_next(request)

    async def get_db() -> AsyncIterator[AsyncSession]:
        async with maker() as session:  # guard: get_db session
            yield session

    async def get_db_committing() -> AsyncIterator[AsyncSession]:
        async with maker() as session:  # guard: get_db committing
            yield session
            await session.commit()

    Db = Annotated[AsyncSession, Depends(get_db)]

    async def own_job(body: str, commit: bool) -> None:
        async with maker() as own:  # guard: job session
            own.add(Note(body=body))
            await own.flush()
            if commit:
                await own.commit()

    if wiring in ("commit_in_dependency", "commit_in_dependency_function_scope"):
        scope = "function" if wiring.endswith("function_scope") else "request"

        @app.post("/notes", status_code=201)
        async def create_after_yield(
            note: NoteIn,
            db: Annotated[AsyncSession, Depends(get_db_committing, scope=scope)],
        ) -> dict[str, str]:
            await NoteRepository(db).add(note.body)
            return {"saved": note.body}

    elif wiring == "depends_twice":

        @app.post("/notes", status_code=201)
        async def create_twice(
            note: NoteIn,
            db: Db,
            audit_db: Annotated[AsyncSession, Depends(get_db, use_cache=False)],
        ) -> dict[str, str]:
            await db.scalar(select(func.count()).select_from(Note))
            await NoteRepository(audit_db).add(note.body)
            await db.commit()  # the wrong session: audit_db's note is never committed
            return {"saved": note.body}

    else:

        @app.post("/notes", status_code=201)
        async def create(note: NoteIn, db: Db, background: BackgroundTasks) -> dict[str, str]:
            await _create(wiring, maker, db, background, note.body, own_job)
            return {"saved": note.body}

    @app.get("/notes/count")
    async def count(db: Db) -> dict[str, int]:
        return {"count": int(await db.scalar(select(func.count()).select_from(Note)) or 0)}

    return app


async def _create(
    wiring: str,
    maker: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    background: BackgroundTasks,
    body: str,
    job: Callable[[str, bool], Coroutine[Any, Any, None]],
) -> None:
    if wiring == "repository_own_session":
        await db.scalar(select(func.count()).select_from(Note))  # the request's session works
        await OwnSessionNoteRepository(maker).add(body)
        await db.commit()
    elif wiring == "core_own_session":
        await db.scalar(select(func.count()).select_from(Note))
        await OwnSessionNoteRepository(maker).add_with_core(body)
        await db.commit()
    elif wiring == "core_clean":
        await db.execute(insert(Note).values(body=body))
        await db.commit()
    elif wiring == "forgotten_commit":
        await NoteRepository(db).add(body)
    elif wiring == "unflushed_add":
        db.add(Note(body=body))
    elif wiring == "swallowed_error":
        try:
            await NoteRepository(db).add(body)
            await NoteRepository(db).add(body)  # the unique constraint fails
            await db.commit()
        except IntegrityError:
            await db.rollback()  # ... and the client is told 201 anyway
    elif wiring == "read_only_lookup":
        async with maker() as lookup:  # guard: lookup session
            if await lookup.scalar(select(func.count()).select_from(Note)) is None:
                raise HTTPException(500)
        await NoteRepository(db).add(body)
        await db.commit()
    elif wiring in ("background_own_session", "background_lost"):
        await NoteRepository(db).add(body)
        await db.commit()
        background.add_task(job, f"{body} (background)", wiring == "background_own_session")
    elif wiring in ("task_own_session", "task_lost"):
        await NoteRepository(db).add(body)
        await db.commit()
        await asyncio.create_task(job(f"{body} (task)", wiring == "task_own_session"))
    else:
        await NoteRepository(db).add(body)
        await db.commit()
