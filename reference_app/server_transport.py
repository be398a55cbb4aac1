"""An httpx transport that calls an ASGI app in-process and answers the client with what the app
*sent*, as a server does, even when the app fails afterwards.

With FastAPI >= 0.118 a dependency's code after `yield` (get_db's commit, in many apps) runs
after the response has been sent. When it fails there, a server has already answered 201 and
only logs the error; httpx's own ASGITransport raises it to the client instead, which hides the
"acknowledged before commit" bug. Here the failure is logged and kept for whoever asked for it
(`late_failures()`); the client's answer stands. The call returns once the app has finished, so
nothing of the request runs on unobserved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

import httpx
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

_collecting: ContextVar[list[str] | None] = ContextVar("late_failures", default=None)


@contextlib.contextmanager
def late_failures() -> Iterator[list[str]]:
    """Collect what the app failed with after answering, for the requests sent in this block."""
    collected: list[str] = []
    token = _collecting.set(collected)
    try:
        yield collected
    finally:
        _collecting.reset(token)


def _describe(error: BaseException) -> str:
    # Starlette re-raises a handled error as "response already started": name the cause.
    while error.__cause__ is not None:
        error = error.__cause__
    return f"{type(error).__name__}: {error}"


class ServerTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for (k, v) in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }
        chunks = request.stream.__aiter__()
        request_complete = False
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        body: list[bytes] = []
        complete = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal request_complete
            if request_complete:
                await complete.wait()
                return {"type": "http.disconnect"}
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                request_complete = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    complete.set()

        try:
            await self.app(scope, receive, send)
        except Exception as error:
            if not complete.is_set() or status is None or status >= 500:
                raise  # as httpx's ASGITransport: an error before (or as) the answer
            # Kept for the classifier below (ChatResponse.late_failure); at INFO because the
            # matrix provokes it on purpose in every after-response case, where a warning on
            # stderr would be noise (a real server would log it, often where nobody looks).
            log.info("the app failed after its %s response was sent: %r", status, error)
            collected = _collecting.get()
            if collected is not None:
                collected.append(_describe(error))
        if not complete.is_set() or status is None:
            raise RuntimeError("the app returned without sending a complete response")
        return httpx.Response(status, headers=headers, content=b"".join(body))
