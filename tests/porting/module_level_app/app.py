"""The app: its engine, session maker and container are built at import, as most apps do."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scenarios.toolkit import RETRYABLE_CODES, driver_error_code

DATABASE_URL = os.environ.get("CHAT_DATABASE_URL", "sqlite+aiosqlite:///./chat.db")


class Base(DeclarativeBase):
    pass


class Chat(Base):
    __tablename__ = "mla_chats"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Message(Base):
    __tablename__ = "mla_messages"
    __table_args__ = (UniqueConstraint("chat_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mla_chats.id"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str]
    position: Mapped[int]


class AgentContext(Base):
    __tablename__ = "mla_agent_contexts"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mla_chats.id"), unique=True)


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def chat_exists(self, chat_id: uuid.UUID) -> bool:
        return await self.session.get(Chat, chat_id) is not None

    async def create_chat(self, chat_id: uuid.UUID) -> None:
        self.session.add(Chat(id=chat_id))
        await self.session.flush()

    async def add_message(self, chat_id: uuid.UUID, role: str, content: str) -> Message:
        position = await self.session.scalar(
            select(func.count()).select_from(Message).where(Message.chat_id == chat_id)
        )
        message = Message(chat_id=chat_id, role=role, content=content, position=position or 0)
        self.session.add(message)
        await self.session.flush()
        return message

    async def add_user_message(self, chat_id: uuid.UUID, content: str) -> Message:
        return await self.add_message(chat_id, "user", content)

    async def add_reply(self, chat_id: uuid.UUID, content: str) -> Message:
        return await self.add_message(chat_id, "assistant", content)

    async def ensure_agent_context(self, chat_id: uuid.UUID) -> None:
        found = await self.session.scalar(
            select(AgentContext.id).where(AgentContext.chat_id == chat_id)
        )
        if found is None:
            self.session.add(AgentContext(chat_id=chat_id))
            await self.session.flush()

    async def history(self, chat_id: uuid.UUID) -> list[Message]:
        rows = await self.session.scalars(
            select(Message).where(Message.chat_id == chat_id).order_by(Message.position)
        )
        return list(rows)


class Container:
    """The app's DI container, one for the process, as the usual layout has it."""

    def __init__(self, url: str) -> None:
        self.engine = create_async_engine(url)
        self.session_maker = async_sessionmaker(self.engine, expire_on_commit=False)

    def repository(self, session: AsyncSession) -> ChatRepository:
        return ChatRepository(session)


container = Container(DATABASE_URL)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with container.session_maker() as session:
        yield session


Db = Annotated[AsyncSession, Depends(get_db)]


class MessageIn(BaseModel):
    content: str = Field(min_length=1, max_length=10_000)


def _out(chat_id: uuid.UUID, messages: list[Message]) -> dict[str, object]:
    return {
        "session_id": str(chat_id),
        "messages": [
            {"role": m.role, "content": m.content, "position": m.position} for m in messages
        ],
    }


app = FastAPI()


@app.post("/sessions/{chat_id}/messages", status_code=201)
async def post_message(chat_id: uuid.UUID, body: MessageIn, db: Db) -> dict[str, object]:
    repository = container.repository(db)
    if not await repository.chat_exists(chat_id):
        await repository.create_chat(chat_id)
    asked = await repository.add_user_message(chat_id, body.content)
    await repository.ensure_agent_context(chat_id)
    answered = await repository.add_reply(chat_id, f"You said {len(body.content)} characters.")
    await db.commit()
    return _out(chat_id, [asked, answered])


@app.get("/sessions/{chat_id}/messages")
async def get_messages(chat_id: uuid.UUID, db: Db) -> dict[str, object]:
    repository = container.repository(db)
    if not await repository.chat_exists(chat_id):
        raise HTTPException(404, "no such chat")
    return _out(chat_id, await repository.history(chat_id))


@app.exception_handler(DBAPIError)
async def conflict(_request: Request, error: Exception) -> JSONResponse:
    """Retryable database errors are a 409 with the driver's code; others escape (a 500)."""
    assert isinstance(error, DBAPIError)
    code = driver_error_code(error)
    if code in RETRYABLE_CODES:
        return JSONResponse({"detail": "conflict, retry", "code": code}, status_code=409)
    raise error
