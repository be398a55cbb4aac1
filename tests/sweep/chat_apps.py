"""The seed's chain in a few lines, for the sweep on MariaDB/MySQL: a chat and its messages,
`FUNC(url) -> app` as the CLI takes it. The engine is the app's own, with no bound on its waits
(InnoDB's 50 s default), as a team's app has it: the sweep bounds them itself.

- `shared_session_chats`: the repository gets the request's session (atomic);
- `two_session_chats`: the incident's bug, the message repository opens its own session from the
  app's session maker and stores the chat (when new) and the message there, while the request's
  session writes the agent context and commits. For a new chat the context's foreign key check
  waits for the chat row the other session has not committed (error 1205 once the wait is
  bounded); for an existing one the message is lost and the request answers 201.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NEW_CHAT = 'POST /chats/new-chat/messages {"text": "hello"}'
EXISTING_CHAT = 'POST /chats/known/messages {"text": "again"}'
SEED_CHAT = 'POST /chats {"slug": "known"}'


class Base(DeclarativeBase):
    pass


class Chat(Base):
    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    text: Mapped[str] = mapped_column(String(200))


class AgentContext(Base):
    __tablename__ = "agent_contexts"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    payload: Mapped[str] = mapped_column(String(200))


class MessageIn(BaseModel):
    text: str


class ChatIn(BaseModel):
    slug: str


class MessageRepository:
    """Stores a message, creating its chat first when it is new."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, slug: str, text: str) -> Chat:
        chat = await self.session.scalar(select(Chat).where(Chat.slug == slug))
        if chat is None:
            chat = Chat(slug=slug)
            self.session.add(chat)
            await self.session.flush()
        self.session.add(Message(chat_id=chat.id, text=text))
        await self.session.flush()
        return chat


def _chat_app(url: str, *, own_session: bool) -> FastAPI:
    engine = create_async_engine(url)  # no bound on its waits: InnoDB's 50 s
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/chats", status_code=201)
    async def create_chat(body: ChatIn) -> JSONResponse:
        async with sessions() as session:
            session.add(Chat(slug=body.slug))
            await session.commit()
        return JSONResponse({"slug": body.slug}, status_code=201)

    @app.post("/chats/{slug}/messages", status_code=201)
    async def add_message(slug: str, body: MessageIn) -> JSONResponse:
        async with sessions() as session, sessions() as repository_session:
            # The seed's bug: the repository's own session (closed, never committed).
            repository = MessageRepository(repository_session if own_session else session)
            chat = await repository.save(slug, body.text)
            session.add(AgentContext(chat_id=chat.id, payload=f"context for {body.text}"))
            await session.commit()
        return JSONResponse({"chat": chat.id}, status_code=201)

    return app


def shared_session_chats(url: str) -> FastAPI:
    return _chat_app(url, own_session=False)


def two_session_chats(url: str) -> FastAPI:
    return _chat_app(url, own_session=True)
