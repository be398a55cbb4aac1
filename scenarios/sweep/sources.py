"""Where a door gets the app under test, built on its scratch database: any app layout.

- a factory, `MODULE:FUNC` with `FUNC(url) -> app` (an app built with `create_app(engine)`);
- or the app object itself, `MODULE:ATTR`, with what it reaches the database through, by
  import path, re-pointed at the scratch database through public means only:
  - `sessionmakers`: a `sessionmaker` / `async_sessionmaker` (module-level or on a container),
    rebound with `.configure(bind=scratch_engine)` and bound back afterwards;
  - `engines`: an `Engine` / `AsyncEngine` attribute, replaced by the scratch engine (and every
    module-level session maker bound to it rebound); or a dependency-injector provider,
    `.override()`n and reset afterwards;
  - `metadata`: a `MetaData` whose tables are created on the scratch database first (an app
    whose own startup does not create them).

`open_app(source, url)` is the one entry point (the sweep's and the route door's): an async
context manager that yields the app object and undoes every re-pointing when it exits.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import sessionmaker
from sqlalchemy.util.concurrency import greenlet_spawn

from scenarios.loading import NotLoadable, load_attribute
from scenarios.sweep.requests import UsageError

AppFactory = Callable[[str], Any]
# The scratch engine's SQLite busy timeout: a second writer waits this long, not 5 s.
SQLITE_BUSY_TIMEOUT_S = 1.0
_SYNC_DRIVERS = {
    "sqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",  # PyMySQL: aiomysql's own dependency, so always there beside it
    "mariadb": "mariadb+pymysql",
}


@dataclass(frozen=True)
class AppSource:
    """The app under test and how to put it on a scratch database (see the module's doc)."""

    factory: str | AppFactory | None = None
    app: str | None = None
    sessionmakers: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.factory is None) == (self.app is None):
            raise UsageError("give either --app-factory MODULE:FUNC or --app MODULE:ATTR")
        bindings = self.sessionmakers or self.engines
        if self.app is not None and not bindings:
            raise UsageError(
                f"--app {self.app!r}: also say what it reaches the database through: "
                "--sessionmaker MODULE:ATTR or --engine MODULE:ATTR"
            )
        if self.factory is not None and (bindings or self.metadata):
            raise UsageError(
                "--sessionmaker, --engine and --metadata go with --app, not --app-factory"
            )

    @property
    def label(self) -> str:
        if self.app is not None:
            return self.app
        if isinstance(self.factory, str):
            return self.factory
        module = getattr(self.factory, "__module__", "?")
        return f"{module}:{getattr(self.factory, '__qualname__', repr(self.factory))}"


def _load(spec: str, option: str) -> Any:
    try:
        return load_attribute(spec, "MODULE:ATTR")
    except NotLoadable as error:
        raise UsageError(f"{option} {spec!r}: {error}") from None


def load_factory(spec: str) -> AppFactory:
    """`MODULE:FUNC`, with the current folder importable first, as uvicorn does."""
    try:
        factory = load_attribute(spec, "MODULE:FUNC")
    except NotLoadable as error:
        raise UsageError(f"--app-factory {spec!r}: {error}") from None
    if not callable(factory):
        raise UsageError(f"--app-factory {spec!r}: {spec.partition(':')[2]!r} is not callable")
    return factory


def scratch_engine(url: str, *, asynchronous: bool) -> Engine | AsyncEngine:
    """An engine on the scratch database, async or sync as the app's own was; on SQLite with
    foreign keys on and a short busy timeout (a second writer fails fast, as the bug does)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    if asynchronous:
        engine: Engine | AsyncEngine = create_async_engine(parsed, **options)
        sync = engine.sync_engine  # type: ignore[union-attr]
    else:
        engine = sync = create_engine(parsed.set(drivername=_SYNC_DRIVERS[backend]), **options)
    if backend == "sqlite":
        event.listen(sync, "connect", _foreign_keys_on)
    return engine


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _is_async_maker(maker: Any) -> bool:
    if isinstance(maker, async_sessionmaker):
        return True
    cls = getattr(maker, "class_", None)
    return isinstance(cls, type) and issubclass(cls, AsyncSession)


def _is_provider(found: Any) -> bool:
    """A dependency-injector provider (`providers.Singleton(create_async_engine, ...)`)."""
    return callable(getattr(found, "override", None)) and callable(
        getattr(found, "reset_last_overriding", None)
    )


async def _dispose(engine: Engine | AsyncEngine) -> None:
    if isinstance(engine, AsyncEngine):
        await engine.dispose()
    else:
        await greenlet_spawn(engine.dispose)


def _rebind_maker(maker: Any, engine: Any, stack: AsyncExitStack) -> None:
    old = maker.kw.get("bind")
    maker.configure(bind=engine)
    stack.callback(maker.configure, bind=old)


def _makers_bound_to(engine: Any) -> list[Any]:
    """Module-level session makers (in any loaded module) bound to `engine`."""
    found: dict[int, Any] = {}
    for module in list(sys.modules.values()):
        for value in list(getattr(module, "__dict__", {}).values()):
            if isinstance(value, sessionmaker | async_sessionmaker) and (
                value.kw.get("bind") is engine
            ):
                found[id(value)] = value
    return list(found.values())


async def _point_engine(spec: str, url: str, stack: AsyncExitStack) -> Engine | AsyncEngine:
    found = _load(spec, "--engine")
    if _is_provider(found):
        current = found()
        engine = scratch_engine(url, asynchronous=isinstance(current, AsyncEngine))
        found.override(engine)
        stack.callback(found.reset_last_overriding)
        return engine
    if not isinstance(found, Engine | AsyncEngine):
        raise UsageError(
            f"--engine {spec!r} is a {type(found).__name__}, not an Engine, AsyncEngine or "
            "dependency-injector provider"
        )
    engine = scratch_engine(url, asynchronous=isinstance(found, AsyncEngine))
    module_name, _, path = spec.partition(":")
    owner: Any = sys.modules[module_name]
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    setattr(owner, name, engine)
    stack.callback(setattr, owner, name, found)
    for maker in _makers_bound_to(found):
        _rebind_maker(maker, engine, stack)
    return engine


async def _point_maker(spec: str, url: str, stack: AsyncExitStack) -> Engine | AsyncEngine:
    maker = _load(spec, "--sessionmaker")
    if _is_provider(maker):
        maker = maker()
    if not isinstance(maker, sessionmaker | async_sessionmaker):
        raise UsageError(
            f"--sessionmaker {spec!r} is a {type(maker).__name__}, not a sessionmaker or "
            "async_sessionmaker"
        )
    engine = scratch_engine(url, asynchronous=_is_async_maker(maker))
    _rebind_maker(maker, engine, stack)
    return engine


async def _create_tables(engine: Engine | AsyncEngine, metadata: MetaData) -> None:
    if isinstance(engine, AsyncEngine):
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    else:
        await greenlet_spawn(metadata.create_all, engine)


@asynccontextmanager
async def open_app(source: AppSource, url: str) -> AsyncIterator[Any]:
    """The app of `source` on the database at `url`; every re-pointing is undone on exit and
    the scratch engines made here are disposed."""
    async with AsyncExitStack() as stack:
        if source.factory is not None:
            factory = (
                load_factory(source.factory) if isinstance(source.factory, str) else source.factory
            )
            try:
                app = factory(url)
                if inspect.isawaitable(app):
                    app = await app
            except UsageError:
                raise
            except Exception as error:  # the factory's own failure, said in one line
                raise UsageError(
                    f"the app factory {source.label} raised {type(error).__name__}: {error}"
                ) from error
        else:
            assert source.app is not None
            app = _load(source.app, "--app")
            engines = [await _point_maker(spec, url, stack) for spec in source.sessionmakers]
            engines += [await _point_engine(spec, url, stack) for spec in source.engines]
            for engine in engines:
                stack.push_async_callback(_dispose, engine)
            for spec in source.metadata:
                metadata = _load(spec, "--metadata")
                if not isinstance(metadata, MetaData):
                    raise UsageError(
                        f"--metadata {spec!r} is a {type(metadata).__name__}, not a MetaData "
                        "(Base.metadata)"
                    )
                await _create_tables(engines[0], metadata)
        if not callable(app):
            raise UsageError(f"{source.label} gave a {type(app).__name__}, not an ASGI or WSGI app")
        yield app
