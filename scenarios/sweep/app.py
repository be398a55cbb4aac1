"""The app under the sweep: loaded from `MODULE:FUNC` as uvicorn loads one, started (ASGI
lifespan), and called in-process, ASGI through httpx or WSGI in a worker thread, with a fault
at the start of a 2xx response when asked (the client then gets no 2xx)."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import io
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from scenarios.sweep.recorder import RECORDER, SweepFault
from scenarios.sweep.requests import SweepRequest, UsageError
from scenarios.sweep.sources import AppFactory, load_factory

if TYPE_CHECKING:
    from scenarios.sweep.watch import RunWatch

REQUEST_TIMEOUT_S = 30.0  # a request that hangs is reported, never waited for forever
LIFESPAN_TIMEOUT_S = 30.0
BASE_URL = "http://sweep.invalid"
# httpx is imported when an ASGI app is swept: a WSGI (Flask) team's install need not have it.
ASGI_NEEDS_HTTPX = (
    "the app is ASGI, and the sweep calls an ASGI app through httpx, which is not installed: "
    "pip install httpx (or 'two-sessions-harness[reference]', which brings it)"
)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer within the bound
    body: str

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    return inspect.iscoroutinefunction(call)


class ServedApp:
    """One app for a whole sweep (as a server keeps one): started once, stopped at the end."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.kind: Literal["asgi", "wsgi"] = "asgi" if is_asgi(app) else "wsgi"
        if self.kind == "asgi" and importlib.util.find_spec("httpx") is None:
            raise UsageError(ASGI_NEEDS_HTTPX)
        self._lifespan: _Lifespan | None = None
        self.watch: RunWatch | None = None  # the run under watch, told the response's start

    async def start(self) -> None:
        if self.kind == "asgi":
            self._lifespan = _Lifespan(self.app)
            await self._lifespan.startup()

    async def stop(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()

    async def call(self, request: SweepRequest) -> Answer:
        """Send one request; a hang past the bound is an answer with no status."""
        try:
            if self.kind == "asgi":
                return await asyncio.wait_for(self._call_asgi(request), REQUEST_TIMEOUT_S)
            return await asyncio.wait_for(
                asyncio.to_thread(self._call_wsgi, request), REQUEST_TIMEOUT_S
            )
        except TimeoutError:
            return Answer(None, f"no answer within {REQUEST_TIMEOUT_S:.0f} s")

    async def _call_asgi(self, request: SweepRequest) -> Answer:
        import httpx

        transport = httpx.ASGITransport(app=self._asgi_with_fault, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            if request.form is not None:
                response = await client.request(
                    request.method,
                    request.path,
                    data=dict(request.form),
                    headers=list(request.headers),
                )
            else:
                response = await client.request(
                    request.method, request.path, json=request.body, headers=list(request.headers)
                )
            return Answer(response.status_code, response.text)

    async def _asgi_with_fault(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        async def faulting_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self._response_boundary(int(message["status"]))
            await send(message)

        await self.app(scope, receive, faulting_send)

    def _call_wsgi(self, request: SweepRequest) -> Answer:
        if request.form is not None:
            payload = urlencode(request.form).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            payload = b"" if request.body is None else json.dumps(request.body).encode()
            content_type = "application/json" if request.body is not None else ""
        path, _, query = request.path.partition("?")
        environ = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(payload),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "sweep.invalid",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(len(payload)),
            "CONTENT_TYPE": content_type,
        }
        for name, value in request.headers:
            key = name.upper().replace("-", "_")
            environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
        seen: list[str] = []

        def start_response(
            status: str, _headers: Any, _exc_info: Any = None
        ) -> Callable[[bytes], None]:
            self._response_boundary(int(status.split()[0]))
            seen.append(status)
            return lambda _chunk: None

        try:
            result: Iterable[bytes] = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as error:  # noqa: BLE001 - the app raised instead of answering: a server says 500
            return Answer(500, f"the app raised {type(error).__name__}: {error}")
        if not seen:
            return Answer(500, "the app returned without starting a response")
        return Answer(int(seen[-1].split()[0]), body.decode("utf-8", "replace"))

    def _response_boundary(self, status: int) -> None:
        """The last boundary: the app is about to acknowledge. Only a 2xx start is one; a
        response that does start is told to the run's watch (the guard judges by it)."""
        if 200 <= status < 300 and (fault := RECORDER.boundary("response", f"HTTP {status}", None)):
            raise fault
        if self.watch is not None:
            self.watch.responded(status)


class _Lifespan:
    """The ASGI lifespan protocol, bounded; an app without one simply starts."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._to_app: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._from_app: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

        async def send(message: MutableMapping[str, Any]) -> None:
            await self._from_app.put(message)

        try:
            await self._app(scope, self._to_app.get, send)
        except Exception:  # noqa: BLE001 - an app that raises on lifespan does not support it
            self._supported = False
            await self._from_app.put({"type": "lifespan.unsupported"})

    async def _exchange(self, phase: str) -> None:
        await self._to_app.put({"type": f"lifespan.{phase}"})
        try:
            reply = await asyncio.wait_for(self._from_app.get(), LIFESPAN_TIMEOUT_S)
        except TimeoutError:
            raise UsageError(
                f"the app did not finish its {phase} within {LIFESPAN_TIMEOUT_S:.0f} s"
            ) from None
        if reply["type"] == f"lifespan.{phase}.failed":
            raise UsageError(f"the app's {phase} failed: {reply.get('message', '')}")

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._exchange("startup")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        if self._supported and not self._task.done():
            await self._exchange("shutdown")
        try:
            await asyncio.wait_for(self._task, LIFESPAN_TIMEOUT_S)
        except TimeoutError:
            self._task.cancel()


__all__ = ["AppFactory", "SweepFault", "SweepRequest", "UsageError", "load_factory"]
