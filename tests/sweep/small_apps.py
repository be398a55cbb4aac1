"""Small apps written here for the sweep, each `FUNC(url) -> app` as the CLI takes it.

An order with two lines, stored by an order repository and a line repository:

- `clean_orders`: both repositories on the request's session, one commit (atomic);
- `line_repository_commits`: the line repository commits on its own after the first line
  (a partial commit for a fault anywhere after it);
- `swallowing_orders`: one session, but the handler swallows any database error and answers
  201 anyway (the sweep must report it, not count it a pass);
- `wsgi_clean_orders`, `wsgi_line_repository_commits`: the same two, sync SQLAlchemy behind a
  plain WSGI callable (what a Flask app is to a server).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import ForeignKey, String, create_engine, event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(40))
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order")


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    sku: Mapped[str] = mapped_column(String(20))
    order: Mapped[Order] = relationship(back_populates="lines")


class OrderIn(BaseModel):
    customer: str
    skus: list[str]


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, order: Order) -> None:
        self.session.add(order)
        self.session.flush()


class LineRepository:
    def __init__(self, session: Session, *, commit: bool = False) -> None:
        self.session = session
        self.commit = commit

    def add(self, line: OrderLine) -> None:
        self.session.add(line)
        self.session.flush()
        if self.commit:
            self.session.commit()  # the bug: a repository that commits on its own


def place_order(session: Session, body: OrderIn, *, line_commits: bool) -> int:
    """The use case, sync so both the ASGI and the WSGI app share it (run_sync for async)."""
    order = Order(customer=body.customer)
    OrderRepository(session).add(order)
    lines = LineRepository(session, commit=line_commits)
    for sku in body.skus:
        lines.add(OrderLine(order_id=order.id, sku=sku))
    session.commit()
    return order.id


def _asgi_orders(
    url: str, *, line_commits: bool = False, swallow: bool = False, waver: bool = False
) -> FastAPI:
    engine = create_async_engine(url)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _foreign_keys_on)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    calls = [0]

    @app.post("/orders", status_code=201)
    async def create_order(body: OrderIn) -> JSONResponse:
        session: AsyncSession
        async with sessions() as session:
            calls[0] += 1
            if waver and calls[0] % 2:
                await session.execute(text("SELECT 1"))
            try:
                order_id = await session.run_sync(place_order, body, line_commits=line_commits)
            except SQLAlchemyError:
                if not swallow:
                    raise
                await session.rollback()  # the bug: the error is swallowed, 201 anyway
                order_id = 0
        return JSONResponse({"id": order_id}, status_code=201)

    return app


def clean_orders(url: str) -> FastAPI:
    return _asgi_orders(url)


def line_repository_commits(url: str) -> FastAPI:
    return _asgi_orders(url, line_commits=True)


def swallowing_orders(url: str) -> FastAPI:
    return _asgi_orders(url, swallow=True)


def _sync_url(url: str) -> str:
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
    return parsed.set(drivername=driver[parsed.get_backend_name()]).render_as_string(False)


def _wsgi_orders(url: str, *, line_commits: bool) -> WSGIApp:
    engine = create_engine(_sync_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _foreign_keys_on)
    Base.metadata.create_all(engine)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (environ["REQUEST_METHOD"], environ["PATH_INFO"]) != ("POST", "/orders"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = OrderIn.model_validate(json.loads(environ["wsgi.input"].read(length)))
        with Session(engine, expire_on_commit=False) as session:
            try:
                order_id = place_order(session, body, line_commits=line_commits)
            except SQLAlchemyError:
                session.rollback()
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                return [b"database error"]
        start_response("201 Created", [("Content-Type", "application/json")])
        return [json.dumps({"id": order_id}).encode()]

    return app


def wsgi_clean_orders(url: str) -> WSGIApp:
    return _wsgi_orders(url, line_commits=False)


def wsgi_line_repository_commits(url: str) -> WSGIApp:
    return _wsgi_orders(url, line_commits=True)


ORDER = 'POST /orders {"customer": "ada", "skus": ["tea", "milk"]}'


_leaked: list[Session] = []


def lock_leaking_orders(url: str) -> WSGIApp:
    """Answers, then leaves a write transaction open on a session it never closes: the next
    request (or the sweep's restore) waits for its lock."""
    engine = create_engine(_sync_url(url))
    Base.metadata.create_all(engine)
    clean = _wsgi_orders(url, line_commits=False)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = clean(environ, start_response)
        leak = Session(engine)
        leak.execute(update(Order).values(customer=Order.customer))
        _leaked.append(leak)
        return answer

    return app


def close_leaked() -> None:
    while _leaked:
        _leaked.pop().close()


def broken_factory(url: str) -> WSGIApp:
    raise RuntimeError("no settings file")


def wavering_orders(url: str) -> FastAPI:
    """Every other call reads once more before it writes: the same request does not issue the
    same statements twice in a row, so the sweep cannot vouch for its boundaries."""
    return _asgi_orders(url, waver=True)


def commit_after_response(url: str) -> Callable[..., Any]:
    """A plain ASGI app that answers 201 and only then commits (the `commit_in_dependency`
    shape of DESIGN.md): a commit that fails loses a write the client was told is stored."""
    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    async with engine.begin() as connection:
                        await connection.run_sync(Base.metadata.create_all)
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await engine.dispose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        async with sessions() as session:
            session.add(Order(customer="ada"))
            await session.flush()
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            await session.commit()

    return app
