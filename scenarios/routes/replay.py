"""The sweep of one 2xx request per route, on the sweep's own fresh database.

Its ids are not the run's: the requests that made them are replayed first (they are swept too,
in the order they first ran), and a middleware between the sweep and the app rewrites each
request's carried values with what the replayed responses returned this time. Each request
names its place by a query parameter the middleware takes off before the app sees it; the
`--header`s are added to every request there as well."""

from __future__ import annotations

import copy
import inspect
import io
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from scenarios.routes.driving import Exchange
from scenarios.routes.values import Value, coerce
from scenarios.sweep import SweepRequest
from scenarios.sweep.app import AppFactory

MARKER = "__routes_step"
Message = MutableMapping[str, Any]


def _json_body(exchange: Exchange) -> bool:
    media = (exchange.media_type or "application/json").split(";")[0].strip().lower()
    return exchange.body is None or media == "application/json" or media.endswith("+json")


def plan(exchanges: list[Exchange], targets: list[Exchange]) -> tuple[list[Exchange], list[str]]:
    """The targets and every request whose values they carry, in the order they ran; and a
    note for each target left out (a body the sweep cannot send)."""
    needed: set[int] = set()
    notes: list[str] = []
    for target in targets:
        chain: set[int] = set()
        stack = [target]
        while stack:
            exchange = stack.pop()
            if exchange.number in chain:
                continue
            chain.add(exchange.number)
            stack += [exchanges[use.value.producer] for use in exchange.uses]
        if all(_json_body(exchanges[n]) for n in chain):
            needed |= chain
        else:
            notes.append(
                f"{target.route}: not swept, its request (or one it needs) has a "
                f"{target.media_type} body, which the sweep does not send"
            )
    return [exchanges[n] for n in sorted(needed)], notes


def sweep_request(exchange: Exchange) -> SweepRequest:
    return SweepRequest(
        exchange.method, f"{exchange.path}?{MARKER}={exchange.number}", exchange.body
    )


class Resolver:
    """The replayed requests, and what their responses returned on the sweep's database."""

    def __init__(self, steps: list[Exchange], base_path: str) -> None:
        self.steps = {exchange.number: exchange for exchange in steps}
        self.base_path = base_path
        self.captured: dict[int, tuple[Any, str | None]] = {}

    def capture(self, number: int, status: int, body: bytes, location: str | None) -> None:
        """The first 2xx answer of a step is its run with no fault: the one whose rows stay."""
        if 200 <= status < 300 and number not in self.captured:
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            self.captured[number] = (parsed, location)

    def _now(self, value: Value) -> Any:
        if value.producer not in self.captured:
            return None
        parsed, location = self.captured[value.producer]
        if value.keys == ("Location",):
            return location.rstrip("/").rsplit("/", 1)[-1].split("?")[0] if location else None
        data: Any = parsed
        for key in value.keys:
            if isinstance(data, list):
                data = data[0] if data else None
            data = data.get(key) if isinstance(data, dict) else None
        return data

    def resolve(self, number: int) -> tuple[str, str, bytes | None]:
        """The step's path, query string and JSON body, its carried values as they are now."""
        exchange = self.steps[number]
        params = dict(exchange.path_parameters)
        body = copy.deepcopy(exchange.body)
        for use in exchange.uses:
            now = self._now(use.value)
            if now is None:
                continue
            where, name = use.where
            if where == "path":
                params[name] = coerce(Value(0, "", (name,), now), params[name])
            elif isinstance(body, dict) and isinstance(body.get(name), list) and body[name]:
                body[name] = [coerce(Value(0, "", (name,), now), body[name][0])]
            elif isinstance(body, dict):
                body[name] = coerce(Value(0, "", (name,), now), body[name])
        path = exchange.template
        for name, value in params.items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        query = urlencode(exchange.query, doseq=True)
        payload = None if exchange.body is None else json.dumps(body).encode()
        return self.base_path + path, query, payload


def _marker(query: str) -> tuple[int | None, str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    step = next((int(v) for k, v in pairs if k == MARKER and v.isdigit()), None)
    return step, urlencode([(k, v) for k, v in pairs if k != MARKER])


class ReplayMiddleware:
    """ASGI: the `--header`s on every request; a marked request rewritten from its step."""

    def __init__(self, app: Any, resolver: Resolver, headers: dict[str, str]) -> None:
        self.app = app
        self.resolver = resolver
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(
        self,
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        step, query = _marker(scope.get("query_string", b"").decode("latin-1"))
        names = {name for name, _ in self.headers}
        headers = [(n, v) for n, v in scope.get("headers", []) if n.lower() not in names]
        headers += self.headers
        scope = dict(scope, headers=headers, query_string=query.encode("latin-1"))
        if step is None or step not in self.resolver.steps:
            await self.app(scope, receive, send)
            return
        number = step
        path, query, payload = self.resolver.resolve(number)
        scope["path"], scope["raw_path"] = path, path.encode()
        scope["query_string"] = query.encode("latin-1")
        exchange = self.resolver.steps[number]
        extra = {k.lower().encode(): v.encode() for k, v in exchange.headers.items()}
        kept = [(n, v) for n, v in scope["headers"] if n not in extra and n != b"content-length"]
        kept += list(extra.items())
        if payload is not None:
            kept = [(n, v) for n, v in kept if n != b"content-type"]
            kept += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]
        scope["headers"] = kept
        given = False

        async def replayed_receive() -> Message:
            nonlocal given
            if given:
                return await receive()
            message = await receive()  # the body the sweep sent: replaced by the resolved one
            while message.get("type") == "http.request" and message.get("more_body"):
                message = await receive()
            given = True
            return {"type": "http.request", "body": payload or b"", "more_body": False}

        status = 0
        location: str | None = None
        chunks: list[bytes] = []

        async def capturing_send(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"location":
                        location = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.resolver.capture(number, status, b"".join(chunks), location)
            await send(message)

        await self.app(scope, replayed_receive, capturing_send)


class ReplayWSGIMiddleware:
    """WSGI: the same, on the environ."""

    def __init__(self, app: Any, resolver: Resolver, headers: dict[str, str]) -> None:
        self.app = app
        self.resolver = resolver
        self.headers = headers

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        environ = dict(environ)
        step, query = _marker(environ.get("QUERY_STRING", ""))
        environ["QUERY_STRING"] = query
        for name, value in self.headers.items():
            environ[_environ_key(name)] = value
        if step is None or step not in self.resolver.steps:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        number = step
        path, query, payload = self.resolver.resolve(number)
        environ["PATH_INFO"], environ["QUERY_STRING"] = path, query
        for name, value in self.resolver.steps[number].headers.items():
            environ[_environ_key(name)] = value
        if payload is not None:
            environ["wsgi.input"] = io.BytesIO(payload)
            environ["CONTENT_LENGTH"] = str(len(payload))
            environ["CONTENT_TYPE"] = "application/json"
        seen: dict[str, Any] = {}

        def capturing_start(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen["status"] = int(status.split()[0])
            seen["location"] = next((v for k, v in headers if k.lower() == "location"), None)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        result = self.app(environ, capturing_start)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self.resolver.capture(number, seen.get("status", 500), body, seen.get("location"))
        return [body]


def _environ_key(name: str) -> str:
    key = name.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"


def replay_factory(factory: AppFactory, resolver: Resolver, headers: dict[str, str]) -> AppFactory:
    """The team's factory, its app behind the replay middleware (ASGI or WSGI, as it is)."""
    from scenarios.sweep.app import is_asgi

    def wrap(app: Any) -> Any:
        if not callable(app):
            return app  # the sweep says what is wrong with it
        middleware = ReplayMiddleware if is_asgi(app) else ReplayWSGIMiddleware
        return middleware(app, resolver, headers)

    def build(url: str) -> Any:
        app = factory(url)
        if inspect.isawaitable(app):

            async def later() -> Any:
                return wrap(await app)

            return later()
        return wrap(app)

    return build
