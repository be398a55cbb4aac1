"""A FastAPI app whose use cases get the session *maker* from a dependency and open a session
per use case (`async with maker.begin()`), modelled on rhoboro/async-fastapi-sqlalchemy; its
suite overrides the dependency with a maker bound to one connection held in an outer
transaction, the common recipe that shares one connection between every session. The buggy
twin's use case opens a second session from the same maker for the write."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.guard.apps.notes_api import Note

Maker = async_sessionmaker[AsyncSession]


class NoteIn(BaseModel):
    body: str


def build_use_case_app(engine: AsyncEngine, *, buggy: bool) -> FastAPI:
    app = FastAPI()

    async def get_maker() -> AsyncIterator[Maker]:
        yield async_sessionmaker(engine, expire_on_commit=False)

    class CreateNote:
        def __init__(self, maker: Annotated[Maker, Depends(get_maker)]) -> None:
            self.maker = maker

        async def execute(self, body: str) -> None:
            async with self.maker.begin() as session:  # guard: use case session
                await session.get(Note, 0)  # a lookup first, as use cases do
                if not buggy:
                    session.add(Note(body=body))
                    return
                async with self.maker() as own:  # guard: use case second session
                    own.add(Note(body=body))
                    await own.flush()

    @app.post("/notes", status_code=201)
    async def create(note: NoteIn, use_case: Annotated[CreateNote, Depends()]) -> dict[str, str]:
        await use_case.execute(note.body)
        return {"saved": note.body}

    app.state.get_maker = get_maker
    return app
