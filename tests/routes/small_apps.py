"""Small apps written here for the route door, each `FUNC(url) -> app`: a shop whose lines live
under an order (`POST /orders/{order_id}/lines`), so a request there needs an id an earlier
response returned, and the sweep of it needs that order replayed first.

- `shop_clean`: one session per request, one commit;
- `shop_lines_own_session`: the line repository opens a session of its own, flushes and closes
  it; the request's session commits the order's count: two writers, acknowledged, not saved;
- `shop_lines_commit_early`: the line is committed before the order's count is updated, so a
  failure in between leaves half of it (only the sweep can see it: no request fails by itself);
- `shop_needs_token`: the clean shop behind a check of `X-Token` (not in the schema).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, String, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TOKEN = "let-me-in"


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(200))
    line_count: Mapped[int] = mapped_column(default=0)


class Line(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(200))


class OrderIn(BaseModel):
    customer: str = Field(min_length=1, max_length=40, pattern=r"^[a-z]+$")


class LineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=20, pattern=r"^[a-z]+$")


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.maker() as session:
        yield session


Db = Annotated[AsyncSession, Depends(get_db)]


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def shop(url: str, lines: str = "shared", token: str | None = None) -> FastAPI:
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 0.2})
        event.listen(engine.sync_engine, "connect", _foreign_keys_on)
    else:
        engine = create_async_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.state.maker = maker

    if token is not None:

        @app.middleware("http")
        async def check_token(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            if request.url.path != "/openapi.json" and request.headers.get("x-token") != token:
                return JSONResponse({"detail": "no token"}, status_code=401)
            return await call_next(request)

    async def order_or_404(db: AsyncSession, order_id: int) -> Order:
        order = await db.get(Order, order_id)
        if order is None:
            raise HTTPException(404, "no such order")
        return order

    @app.post("/orders", status_code=201)
    async def create_order(body: OrderIn, db: Db) -> dict[str, Any]:
        order = Order(customer=body.customer)
        db.add(order)
        await db.commit()
        return {"id": order.id, "customer": order.customer}

    @app.post("/orders/{order_id}/lines", status_code=201)
    async def add_line(order_id: int, body: LineIn, db: Db) -> dict[str, Any]:
        order = await order_or_404(db, order_id)
        line = Line(order_id=order_id, sku=body.sku)
        if lines == "own_session":
            own = maker()  # the bug: the line repository's own session
            own.add(line)
            await own.flush()
            await own.close()
        else:
            db.add(line)
            await db.flush()
            if lines == "commit_early":
                await db.commit()  # the line is kept before the count is
        order.line_count += 1
        await db.commit()
        return {"id": line.id, "order_id": order_id, "sku": line.sku}

    @app.put("/orders/{order_id}")
    async def rename_order(order_id: int, body: OrderIn, db: Db) -> dict[str, Any]:
        order = await order_or_404(db, order_id)
        order.customer = body.customer
        await db.commit()
        return {"id": order.id, "customer": order.customer}

    @app.delete("/orders/{order_id}", status_code=204)
    async def delete_order(order_id: int, db: Db) -> Response:
        await db.delete(await order_or_404(db, order_id))
        await db.commit()
        return Response(status_code=204)

    return app


def shop_clean(url: str) -> FastAPI:
    return shop(url)


def shop_lines_own_session(url: str) -> FastAPI:
    return shop(url, lines="own_session")


def shop_lines_commit_early(url: str) -> FastAPI:
    return shop(url, lines="commit_early")


def shop_needs_token(url: str) -> FastAPI:
    return shop(url, token=TOKEN)
