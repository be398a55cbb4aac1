"""Named places in a request where a test may pause it or make it fail.

The app calls `checkpoint(...)` at each; a hook installed in the request's context (it follows
the request into FastAPI's threadpool) decides what happens. Without a hook it does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum


class Checkpoint(StrEnum):
    QUESTION_SAVED = "question_saved"
    MEMORY_SAVED = "memory_saved"
    ANSWER_SAVED = "answer_saved"
    BEFORE_COMMIT = "before_commit"


Hook = Callable[[Checkpoint], None]

_hook: ContextVar[Hook | None] = ContextVar("support_desk_checkpoint_hook", default=None)


@contextmanager
def installed(hook: Hook) -> Iterator[None]:
    """Run `hook` at every checkpoint of the requests made inside this block."""
    token = _hook.set(hook)
    try:
        yield
    finally:
        _hook.reset(token)


def checkpoint(name: Checkpoint) -> None:
    hook = _hook.get()
    if hook is not None:
        hook(name)
