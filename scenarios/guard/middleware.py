"""Each request one guard unit, in the app itself: an ASGI and a WSGI middleware.

For apps whose tests run against a live server, and for a staging deployment: findings go to
a sink (the pytest run's, when `--session-guard` is on; else the `scenarios.guard` logger) and
the middleware never raises, whatever it finds.

    app = SessionGuardMiddleware(app)          # ASGI: FastAPI, Starlette
    app.wsgi_app = SessionGuardWSGIMiddleware(app.wsgi_app)   # WSGI: Flask
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from scenarios.guard.findings import GuardFinding
from scenarios.guard.runtime import SessionGuard
from scenarios.guard.sites import route_of

Sink = Callable[[Sequence[GuardFinding]], None]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

logger = logging.getLogger("scenarios.guard")
_sinks: list[Sink] = []


def log_findings(findings: Sequence[GuardFinding]) -> None:
    """The default sink: one log line per finding (a warning) or note (info)."""
    for finding in findings:
        level = logging.INFO if finding.note else logging.WARNING
        logger.log(level, "session guard (%s): %s", finding.unit, finding.message)


def push_sink(sink: Sink) -> None:
    """Send every unit's findings to `sink` (the pytest plugin's), until `pop_sink`."""
    _sinks.append(sink)


def pop_sink(sink: Sink) -> None:
    _sinks.remove(sink)


def deliver(findings: Sequence[GuardFinding]) -> None:
    """Hand one unit's findings (an empty tuple too: a request was watched) to the sink."""
    if _sinks:
        _sinks[-1](findings)
    elif findings:
        log_findings(findings)


class SessionGuardMiddleware:
    """ASGI: every HTTP request is one unit; the response's start and status are recorded so
    the guard can tell "acknowledged but not saved" and "response sent before commit"."""

    def __init__(self, app: ASGIApp, *, sink: Sink | None = None) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        sink = self.sink or deliver
        unit = SessionGuard(
            "collect", label=f"{scope.get('method', '')} {scope.get('path', '')}", noun="request"
        )
        unit.on_late = sink

        async def guarded_send(message: Message) -> None:
            if message.get("type") == "http.response.start" and unit.status is None:
                unit.response_started(int(message.get("status", 200)))
            await send(message)

        unit.__enter__()
        try:
            await self.app(scope, receive, guarded_send)
        finally:
            unit.route = route_of(scope)
            unit.__exit__(None, None, None)  # collect mode: never raises
            sink(unit.all_findings)


def _held_flask_context() -> str | None:
    """A Flask app context already pushed when the request starts (a test's `with
    app.app_context():` around its client): Flask runs the request in it, so sessions scoped
    to it (Flask-SQLAlchemy's `db.session`) end with the test's context, not the request."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_app_context():
        return None
    return "a Flask app context pushed before the request (the test's `app.app_context()`)"


def _flask_db_session() -> tuple[Any, ...]:
    """Flask-SQLAlchemy's session of the current app context, if it made one."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_app_context():
        return ()
    scoped = getattr(flask.current_app.extensions.get("sqlalchemy"), "session", None)
    registry = getattr(scoped, "registry", None)
    if registry is None or not registry.has():
        return ()
    return (scoped(),)  # type: ignore[misc]


class SessionGuardWSGIMiddleware:
    """WSGI: every call of the app is one unit, ended when the app returns its body (Flask
    has run its teardown by then; a streamed body's generator is not watched)."""

    def __init__(self, app: WSGIApp, *, sink: Sink | None = None) -> None:
        self.app = app
        self.sink = sink
        # Flask (the app, or its bound `wsgi_app`) knows its URL rules: name the route.
        owner = getattr(app, "__self__", app)
        self._url_map = getattr(owner, "url_map", None)

    def _route(self, environ: dict[str, Any]) -> str | None:
        if self._url_map is None:
            return None
        try:
            rule, _ = self._url_map.bind_to_environ(environ).match(return_rule=True)
        except Exception:  # noqa: BLE001 - a 404 or 405 (or any failure to name it): no route
            return None
        return f"{environ.get('REQUEST_METHOD', '')} {rule.rule}"

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        sink = self.sink or deliver
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        unit = SessionGuard("collect", label=f"{method} {path}", noun="request")
        unit.on_late = sink
        outer_scope = _held_flask_context()

        def guarded_start(status: str, headers: Any, exc_info: Any = None) -> Any:
            if unit.status is None:
                unit.response_started(int(status.split(" ", 1)[0]))
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        unit.__enter__()
        try:
            return self.app(environ, guarded_start)
        finally:
            unit.route = self._route(environ)
            if outer_scope is not None:
                unit.outer_scope, unit.scoped_sessions = outer_scope, _flask_db_session()
            unit.__exit__(None, None, None)
            sink(unit.all_findings)
