"""A small dependency container: providers keyed by type, resolved inside a request scope.

`scope.get(T)` gives the scope's one instance of T (a request-scoped session, say);
`scope.new(T)` builds a fresh one every call. Both are legitimate, which is why confusing them
is an easy way to open a second session without noticing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, TypeVar, cast

T = TypeVar("T")

Provider = Callable[["Scope"], T]


class UnknownDependency(LookupError):
    """Nothing is registered for the requested type."""


class Scope:
    """One request: its cached instances and the resources to close when it ends."""

    def __init__(self, providers: dict[type[Any], Provider[Any]], exits: ExitStack) -> None:
        self._providers = providers
        self._exits = exits
        self._instances: dict[type[Any], Any] = {}

    def get(self, kind: type[T]) -> T:
        """The scope's single instance of `kind`, built on first use."""
        if kind not in self._instances:
            self._instances[kind] = self.new(kind)
        return cast(T, self._instances[kind])

    def new(self, kind: type[T]) -> T:
        """A fresh instance of `kind`, never shared."""
        try:
            provider = self._providers[kind]
        except KeyError:
            raise UnknownDependency(f"no provider registered for {kind.__name__}") from None
        return cast(T, provider(self))

    def enter(self, resource: AbstractContextManager[T]) -> T:
        """Close `resource` when the scope ends."""
        return self._exits.enter_context(resource)


class Container:
    def __init__(self) -> None:
        self._providers: dict[type[Any], Provider[Any]] = {}

    def register(self, kind: type[T], provider: Provider[T]) -> None:
        self._providers[kind] = provider

    @contextmanager
    def scope(self) -> Iterator[Scope]:
        with ExitStack() as exits:
            yield Scope(self._providers, exits)
