"""What a name or expression is to the static check: a session maker, a session in hand, a
helper that opens one, a project class or function. Resolution (`project`, `scope`,
`members`) produces these."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class What(Enum):
    MODULE = "module"
    MAKER_TYPE = "maker type"  # sessionmaker, async_sessionmaker: calling one creates a maker
    SESSION_TYPE = "session type"  # Session, AsyncSession, subclasses: calling one opens one
    REGISTRY_TYPE = "registry type"  # scoped_session: calling one creates a registry
    MAKER = "maker"  # a session maker: calling it (or its .begin()) opens a session
    MAKER_FACTORY = "maker factory"  # a function that returns a session maker
    REGISTRY = "registry"  # a scoped_session: calling it fetches the current session
    TASK_REGISTRY = "task registry"  # one keyed to the task (scopefunc=asyncio.current_task)
    SESSION = "session"  # a session already in hand
    OPENER = "opener"  # a helper that opens a session and hands it out (get_session())
    DECORATOR = "session decorator"  # @provide_session: injects a new session unless given one
    INJECTED = "injected function"  # a function wrapped by such a decorator
    FUNCTION = "function"  # any other project function (for Depends trees)
    CLASS = "class"  # a project class
    INSTANCE = "instance"  # an instance of a project class


@dataclass(frozen=True)
class Value:
    what: What
    origin: str  # how we know, for the message; for MODULE, the module's name
    ref: tuple[str, str] | None = None  # (module, qualified name) of a project function/class
