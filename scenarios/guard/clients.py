"""Make the test clients a suite already uses send each request through the guard's
middleware, so `pytest --session-guard` needs no change to the app or its tests: httpx's (and
httpx2's) `ASGITransport` and `WSGITransport`, Starlette's (and FastAPI's) `TestClient`,
Werkzeug's test client (Flask's `app.test_client()`), and Schemathesis' in-process ASGI client
(`case.call()` on `schemathesis.openapi.from_asgi`; `from_wsgi` goes through Werkzeug's).

Only the transport's view of the app is wrapped (the app object itself is untouched), so a
client created before `watch_test_clients()` is not watched; pytest configures the plugin
before any test module is imported, so a suite's clients are all created after it.
"""

from __future__ import annotations

import importlib.abc
import sys
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


def _patch_schemathesis(module: Any) -> list[Undo]:
    """Schemathesis 4 calls an ASGI app through a client of its own (`ASGIClient`; earlier
    versions use Starlette's TestClient, watched already). It keys the app's lifespan by the
    app's id, so each app gets one wrapper, kept for the run."""
    client = getattr(module, "ASGIClient", None)
    if client is None:
        return []
    wrappers: dict[int, tuple[Any, Any]] = {}

    def wrap(app: Any) -> Any:
        if isinstance(app, SessionGuardMiddleware):
            return app
        held = wrappers.get(id(app))
        if held is None or held[0] is not app:
            held = wrappers[id(app)] = (app, SessionGuardMiddleware(app))
        return held[1]

    original = client.__init__

    def __init__(self: Any, app: Any, *args: Any, **kwargs: Any) -> None:
        original(self, wrap(app), *args, **kwargs)

    client.__init__ = __init__

    def undo() -> None:
        client.__init__ = original
        wrappers.clear()

    return [undo]


def _patch_module(name: str, module: Any) -> list[Undo]:
    if name == "schemathesis.python.asgi":
        return _patch_schemathesis(module)
    if name in ("httpx", "httpx2"):
        return [
            _patch_init(module.ASGITransport, _wrap_asgi),
            _patch_init(module.WSGITransport, _wrap_wsgi),
        ]
    if name == "starlette.testclient":
        # Starlette's TestClient sends through this class and has no public hook for it.
        return [_patch_init(module._TestClientTransport, _wrap_asgi)]  # noqa: SLF001
    return [_patch_werkzeug(module)]  # werkzeug.test


# Starlette >= 1.x's TestClient prefers httpx2.
CLIENT_MODULES = (
    "httpx",
    "httpx2",
    "starlette.testclient",
    "werkzeug.test",
    "schemathesis.python.asgi",
)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches a client module the moment it is first imported, so a run pays nothing to
    import clients its suite never uses (Flask, httpx2) just to patch them."""

    def __init__(self, undos: list[Undo]) -> None:
        self.undos = undos

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in CLIENT_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = getattr(finder, "find_spec", lambda *_: None)(name, path, target)
            if spec is not None and spec.loader is not None:
                self._hook(name, spec.loader)
                return spec
        return None

    def _hook(self, name: str, loader: Any) -> None:
        original = loader.exec_module
        undos = self.undos

        def exec_module(module: Any) -> None:
            original(module)
            undos.extend(_patch_module(name, module))

        loader.exec_module = exec_module


def watch_test_clients() -> Undo:
    """Patch every test client, now if it is imported already, else when it is; returns the
    function that undoes it."""
    undos: list[Undo] = []
    for name in CLIENT_MODULES:
        module = sys.modules.get(name)
        if module is not None:
            undos.extend(_patch_module(name, module))
    finder = _PatchOnImport(undos)
    sys.meta_path.insert(0, finder)

    def undo_all() -> None:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for undo in reversed(undos):
            undo()
        undos.clear()

    return undo_all
