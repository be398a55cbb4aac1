"""Rows a delete-orphan cascade removes are meant to be gone: the sweep must not call them lost.
Modelled on rhoboro/async-fastapi-sqlalchemy, whose clean `PUT /api/notebooks/{id}` the route
door first reported as `lost_write` (the notes a notebook dropped, listed dirty by the session)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from scenarios.sweep import SweepVerdict
from scenarios.sweep.pytest_plugin import run_sweep_blocking


class Base(DeclarativeBase):
    pass


class Box(Base):
    __tablename__ = "boxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    things: Mapped[list[Thing]] = relationship(back_populates="box", cascade="all, delete-orphan")


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("boxes.id"))
    name: Mapped[str] = mapped_column(String(20))
    box: Mapped[Box] = relationship(back_populates="things")  # a dropped thing is dirty, too


def boxes(url: str) -> FastAPI:
    engine = create_async_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/boxes", status_code=201)
    async def create() -> dict[str, Any]:
        async with maker() as db:
            box = Box(things=[Thing(name="a"), Thing(name="b")])
            db.add(box)
            await db.commit()
            return {"id": box.id}

    @app.post("/boxes/{box_id}/empty")
    async def empty(box_id: int) -> dict[str, Any]:
        async with maker() as db:
            box = await db.get(Box, box_id, options=[selectinload(Box.things)])
            assert box is not None
            box.things = []  # the orphans are deleted by the flush
            await db.commit()
            return {"id": box_id}

    return app


def test_rows_a_delete_orphan_cascade_removes_are_not_lost_writes() -> None:
    result = run_sweep_blocking(boxes, "POST /boxes", "POST /boxes/1/empty", db="sqlite")
    emptied = result.requests[1]
    assert emptied.first_status == 200
    assert emptied.first.outcome is SweepVerdict.OK, emptied.first.detail
    assert result.atomic
