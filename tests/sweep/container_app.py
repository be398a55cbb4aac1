"""A blog API built the other way from ours: a module-level container that owns the engine and
the session maker (made at import, from an environment variable), every write a Core
`session.execute(insert(...))`, a bearer token on every write, and ids the server makes (an
article's slug with a random suffix). Modelled on the shape of public FastAPI "realworld" apps
with a dependency-injector container (routes -> services -> repositories, Core statements).

Two app objects share the container:

- `clean_app`: every repository works on the request's session; one commit per request;
- `buggy_app`: the incident app's bug planted, twice: the tag repository and the comment repository
  each open a session of their own from the container's maker, write with Core, and never
  commit (the request's session commits, and the route answers 200/201).

On `buggy_app`, POST /articles fails at once on Postgres (the tag row's FK points at an article
only the request's uncommitted session holds: SQLSTATE 23503) and waits out SQLite's busy
timeout (SQLITE_BUSY); POST /articles/{slug}/comments answers 201 and its comment is gone on
both databases: a Core-only lost write.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

metadata = MetaData()
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(40), unique=True, nullable=False),
)
articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(80), unique=True, nullable=False),
    Column("author_id", ForeignKey("users.id"), nullable=False),
    Column("title", String(80), nullable=False),
)
article_tags = Table(
    "article_tags",
    metadata,
    Column("article_id", ForeignKey("articles.id"), primary_key=True),
    Column("tag", String(40), primary_key=True),
)
comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id"), nullable=False),
    Column("author_id", ForeignKey("users.id"), nullable=False),
    Column("body", String(200), nullable=False),
)

SECRET = b"container-app-secret"


class Container:
    """The composition root at module level, as dependency-injector containers are used: the
    engine and the session maker exist from import time."""

    def __init__(self) -> None:
        url = os.environ.get("CONTAINER_APP_DB", "sqlite+aiosqlite:///container-app.sqlite3")
        self.engine = create_async_engine(url)
        self.session_maker = async_sessionmaker(self.engine, expire_on_commit=False)


container = Container()


def token_for(user_id: int) -> str:
    signature = hmac.new(SECRET, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]
    return f"{user_id}.{signature}"


async def current_user(authorization: Annotated[str | None, Header()] = None) -> int:
    scheme, _, token = (authorization or "").partition(" ")
    user = token.partition(".")[0]
    if (
        scheme != "Token"
        or not user.isdigit()
        or not hmac.compare_digest(token, token_for(int(user)))
    ):
        raise HTTPException(401, "missing or bad token")
    return int(user)


async def request_session() -> AsyncIterator[AsyncSession]:
    async with container.session_maker() as session:
        yield session


class UserIn(BaseModel):
    username: str


class ArticleIn(BaseModel):
    title: str
    tags: list[str] = []


class CommentIn(BaseModel):
    body: str


class TagRepository:
    def __init__(self, session: AsyncSession | None) -> None:
        self.session = session

    async def add(self, article_id: int, tags: list[str]) -> None:
        if not tags:
            return
        rows = [{"article_id": article_id, "tag": tag} for tag in tags]
        if self.session is not None:
            await self.session.execute(insert(article_tags), rows)
            return
        async with container.session_maker() as own:  # the bug: a session of its own
            await own.execute(insert(article_tags), rows)


class CommentRepository:
    def __init__(self, session: AsyncSession | None) -> None:
        self.session = session

    async def add(self, article_id: int, author_id: int, body: str) -> int:
        statement = insert(comments).values(article_id=article_id, author_id=author_id, body=body)
        if self.session is not None:
            return int(
                (await self.session.execute(statement.returning(comments.c.id))).scalar_one()
            )
        async with container.session_maker() as own:  # the bug: a session of its own
            return int((await own.execute(statement.returning(comments.c.id))).scalar_one())


Session = Annotated[AsyncSession, Depends(request_session)]
User = Annotated[int, Depends(current_user)]


def build(*, planted: bool) -> FastAPI:
    app = FastAPI()

    @app.post("/users", status_code=201)
    async def register(body: UserIn, session: Session) -> dict[str, Any]:
        result = await session.execute(
            insert(users).values(username=body.username).returning(users.c.id)
        )
        user_id = int(result.scalar_one())
        await session.commit()
        return {"user": {"username": body.username, "token": token_for(user_id)}}

    @app.post("/articles", status_code=201)
    async def create_article(body: ArticleIn, session: Session, user: User) -> dict[str, Any]:
        slug = f"{body.title.lower().replace(' ', '-')}-{secrets.token_hex(3)}"
        result = await session.execute(
            insert(articles)
            .values(slug=slug, author_id=user, title=body.title)
            .returning(articles.c.id)
        )
        article_id = int(result.scalar_one())
        await TagRepository(None if planted else session).add(article_id, body.tags)
        await session.commit()
        return {"article": {"slug": slug, "title": body.title, "tags": body.tags}}

    @app.post("/articles/{slug}/comments", status_code=201)
    async def comment(slug: str, body: CommentIn, session: Session, user: User) -> dict[str, Any]:
        article_id = await session.scalar(select(articles.c.id).where(articles.c.slug == slug))
        if article_id is None:
            raise HTTPException(404, "no such article")
        comment_id = await CommentRepository(None if planted else session).add(
            article_id, user, body.body
        )
        await session.commit()
        return {"comment": {"id": comment_id, "body": body.body}}

    return app


clean_app = build(planted=False)
buggy_app = build(planted=True)
