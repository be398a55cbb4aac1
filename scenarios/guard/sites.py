"""Where a session was opened: the first frame of the app's own code on the stack (past
SQLAlchemy, asyncio, greenlet, the guard and the app's own session helpers), and, for FastAPI,
the chain of `Depends` parameters that asked for it, read from the frames of FastAPI's
dependency solver."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import sysconfig
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy

# Frames in these places are machinery, not the code that opened a session.
_IGNORED_PREFIXES: tuple[str, ...] = (
    *(
        str(Path(path).resolve().parent) + os.sep
        for path in (sqlalchemy.__file__, asyncio.__file__, __file__)
        if path
    ),
    str(Path(contextlib.__file__).resolve()),
)
greenlet: Any
try:
    greenlet = importlib.import_module("greenlet")  # untyped; SQLAlchemy's asyncio needs it
    _IGNORED_PREFIXES += (str(Path(greenlet.__file__).resolve().parent) + os.sep,)
except ImportError:  # pragma: no cover
    greenlet = None

# ORM layers over SQLAlchemy that open sessions for the app: the app's line is the one to name.
# Found without importing them (find_spec of a top-level package runs none of its code).
for _wrapper in ("sqlmodel", "flask_sqlalchemy"):
    _spec = importlib.util.find_spec(_wrapper)
    for _location in (_spec.submodule_search_locations or []) if _spec else []:
        _IGNORED_PREFIXES += (str(Path(_location).resolve()) + os.sep,)

_ignored_cache: dict[str, bool] = {}


def _is_ignored(filename: str) -> bool:
    ignored = _ignored_cache.get(filename)
    if ignored is None:
        resolved = str(Path(filename).resolve()) if not filename.startswith("<") else filename
        ignored = resolved.startswith(_IGNORED_PREFIXES) or filename.startswith(
            ("<frozen", "<sqlalchemy")  # the stdlib's frozen modules, SQLAlchemy's generated code
        )
        _ignored_cache[filename] = ignored
    return ignored


def _generated_by_sqlalchemy(frame: FrameType) -> bool:
    """SQLAlchemy 2.0 compiles some wrappers with `exec` under the file name "<string>" (2.1
    names them "<sqlalchemy..."); their globals still name the SQLAlchemy module."""
    return frame.f_code.co_filename == "<string>" and str(
        frame.f_globals.get("__name__", "")
    ).startswith("sqlalchemy.")


def _frames(start: FrameType | None) -> Iterator[FrameType]:
    """The frames from `start` outwards; past the top of a greenlet (where AsyncSession runs
    sync code), on into the frames of the coroutine that is waiting for it."""
    frame = start
    current = greenlet.getcurrent() if greenlet is not None else None
    while True:
        while frame is not None:
            yield frame
            frame = frame.f_back
        parent = current.parent if current is not None else None
        if parent is None or parent.gr_frame is None:
            return
        frame, current = parent.gr_frame, parent


_GENERATORS = inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR
_LIBRARY_PREFIXES = tuple(
    str(Path(path).resolve()) + os.sep
    for path in {
        sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    if path
)
_library_cache: dict[str, bool] = {}


def _is_library(filename: str) -> bool:
    """Installed code (the standard library, site-packages: pytest, FastAPI, Starlette), as
    opposed to the app's own, which is where a team wants to be sent."""
    library = _library_cache.get(filename)
    if library is None:
        library = filename.startswith("<") or str(Path(filename).resolve()).startswith(
            _LIBRARY_PREFIXES
        )
        _library_cache[filename] = library
    return library


def caller_site(skip_init_of: object | None = None) -> tuple[str, int] | None:
    """The first frame outside SQLAlchemy, contextlib, asyncio, greenlet and this guard; with
    `skip_init_of`, also past `__init__` methods of that object (a Session subclass).

    A session opened in a generator (an app's session helper: `with_session()`, `get_db()`,
    `@asynccontextmanager` or not) is named where the app's own code entered the helper, the
    line a team has to change; when a library entered it (FastAPI resolving a dependency, a
    pytest fixture), the helper's own line, as there is no line of the app's further out."""
    helper: tuple[str, int] | None = None
    for frame in _frames(sys._getframe(1)):  # noqa: SLF001 - CPython's frame API
        code = frame.f_code
        if _is_ignored(code.co_filename) or _generated_by_sqlalchemy(frame):
            continue
        if (
            skip_init_of is not None
            and code.co_name == "__init__"
            and frame.f_locals.get("self") is skip_init_of
        ):
            continue
        if helper is not None and _is_library(code.co_filename):
            return helper
        if code.co_flags & _GENERATORS:
            helper = helper or (code.co_filename, frame.f_lineno)
            continue
        return code.co_filename, frame.f_lineno
    return helper


def format_site(site: tuple[str, int] | None) -> str | None:
    """`path:line`, the path relative to the working directory when it lies below it."""
    if site is None:
        return None
    filename, line = site
    path = Path(filename)
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd())
    return f"{path.as_posix()}:{line}"


def route_of(scope: Mapping[str, Any]) -> str | None:
    """`POST /api/notes/{note_id}`: the route's template with the prefix it was included
    under (FastAPI routers, mounts), which is the part of the path its pattern does not match."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return None
    path, pattern = str(scope.get("path", "")), getattr(route, "path_regex", None)
    prefix = next(
        (path[:i] for i in range(len(path)) if pattern and pattern.fullmatch(path[i:])), ""
    )
    return f"{scope.get('method', '')} {prefix}{template}".strip()


_FRAMEWORK_DIRS = (f"{os.sep}fastapi{os.sep}", f"{os.sep}starlette{os.sep}")


def _route_in(frame: FrameType) -> str | None:
    """The route of the request a Starlette or FastAPI frame is handling (its ASGI `scope`, or
    its `request`'s), once the router has matched one."""
    if not any(part in frame.f_code.co_filename for part in _FRAMEWORK_DIRS):
        return None
    local = frame.f_locals
    scope = local.get("scope")
    if not isinstance(scope, Mapping):
        scope = getattr(local.get("request"), "scope", None)
    return route_of(scope) if isinstance(scope, Mapping) else None


def request_origin() -> tuple[str | None, tuple[str, ...]]:
    """Which request is asking, as the frames on the stack tell it: the route being served
    (`POST /notes`, from Starlette's or FastAPI's own frames; None outside a routed request,
    or in a task the request started, whose stack begins anew), and the FastAPI `Depends`
    parameters being resolved right now, outermost first (e.g. `("repo", "db")`: the route's
    `repo` parameter, whose own `db` parameter is being resolved; empty outside FastAPI's
    solver, or in a worker thread, where a sync dependency runs). A guard unit without a
    middleware (the pack's runner, `session_guard()` around a test client's call) still names
    the route this way."""
    names: list[str] = []
    route: str | None = None
    for frame in _frames(sys._getframe(1)):  # noqa: SLF001 - CPython's frame API
        code = frame.f_code
        if code.co_name == "solve_dependencies" and "fastapi" in code.co_filename:
            name = getattr(frame.f_locals.get("sub_dependant"), "name", None)
            if isinstance(name, str):
                names.append(name)
        if route is None:
            route = _route_in(frame)
    return route, tuple(reversed(names))
