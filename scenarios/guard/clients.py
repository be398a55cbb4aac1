"""Make the test clients a suite already uses send each request through the guard's
middleware, so `pytest --session-guard` needs no change to the app or its tests: httpx's (and
httpx2's) `ASGITransport` and `WSGITransport`, Starlette's (and FastAPI's) `TestClient`, and
Werkzeug's test client (Flask's `app.test_client()`).

Only the transport's view of the app is wrapped (the app object itself is untouched), so a
client created before `watch_test_clients()` is not watched; pytest configures the plugin
before any test module is imported, so a suite's clients are all created after it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from scenarios.guard.middleware import SessionGuardMiddleware, SessionGuardWSGIMiddleware

Undo = Callable[[], None]


def _wrap_asgi(app: Any) -> Any:
    return app if isinstance(app, SessionGuardMiddleware) else SessionGuardMiddleware(app)


def _wrap_wsgi(app: Any) -> Any:
    return app if isinstance(app, SessionGuardWSGIMiddleware) else SessionGuardWSGIMiddleware(app)


def _patch_init(cls: Any, wrap: Callable[[Any], Any]) -> Undo:
    """After `cls.__init__`, replace `self.app` with its guarded wrapper."""
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.app = wrap(self.app)

    cls.__init__ = __init__

    def undo() -> None:
        cls.__init__ = original

    return undo


def _patch_werkzeug(module: Any) -> Undo:
    """Werkzeug's Client calls the module's `run_wsgi_app(self.application, ...)`; wrap there,
    because Flask's client uses `self.application` as the Flask app for other things too."""
    original = module.run_wsgi_app

    def run_wsgi_app(app: Any, *args: Any, **kwargs: Any) -> Any:
        return original(_wrap_wsgi(app), *args, **kwargs)

    module.run_wsgi_app = run_wsgi_app

    def undo() -> None:
        module.run_wsgi_app = original

    return undo


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def watch_test_clients() -> Undo:
    """Patch every test client that is installed; returns the function that undoes it."""
    undos: list[Undo] = []
    for name in ("httpx", "httpx2"):  # Starlette >= 1.x's TestClient prefers httpx2
        client = _optional(name)
        if client is not None:
            undos.append(_patch_init(client.ASGITransport, _wrap_asgi))
            undos.append(_patch_init(client.WSGITransport, _wrap_wsgi))
    testclient = _optional("starlette.testclient")
    if testclient is not None:
        undos.append(_patch_init(testclient._TestClientTransport, _wrap_asgi))
    werkzeug_test = _optional("werkzeug.test")
    if werkzeug_test is not None:
        undos.append(_patch_werkzeug(werkzeug_test))

    def undo_all() -> None:
        for undo in reversed(undos):
            undo()

    return undo_all
