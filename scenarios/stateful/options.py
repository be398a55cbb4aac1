"""What an adapter opts its app into: which properties the search checks, and content bounds.

The search always checks persistence (every acknowledged message stored in order, nothing of a
failed request stored, every foreign key resolves). Two more properties are the adapter's
choice, because a real app may not share the pack's idea of them:

- `bad_input`: malformed requests are refused with a 4xx naming the field, storing nothing
  (the target must also declare `Capability.REJECTS_BAD_INPUT`, which the pack's bad-input
  scenarios need too: leaving it out switches the property off everywhere);
- `concurrency`: requests in flight at once each succeed or fail with a retryable code (the
  target must also declare `Capability.CONCURRENCY`).

Declare them on the TargetFactory (`search_options = SearchOptions(...)`), where the matrix
and `open_machine` find them, or pass them to `open_machine` / `machine_for_target`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scenarios.stateful.strategies import DEFAULT_MAX_CONTENT_CHARS, check_bounds


@dataclass(frozen=True)
class SearchOptions:
    bad_input: bool = True
    concurrency: bool = True
    min_content_chars: int = 1
    max_content_chars: int = DEFAULT_MAX_CONTENT_CHARS

    def __post_init__(self) -> None:
        check_bounds(self.min_content_chars, self.max_content_chars)

    def describe(self) -> str:
        """The properties and bounds a search checked, for its report."""
        rules = ["persistence"]
        rules += ["bad input refused"] if self.bad_input else []
        rules += ["concurrency"] if self.concurrency else []
        return (
            f"properties: {', '.join(rules)}; content {self.min_content_chars}.."
            f"{self.max_content_chars} chars"
        )


DEFAULT_OPTIONS = SearchOptions()


def options_of(factory: Any) -> SearchOptions:
    """The factory's declared `search_options`, else the defaults."""
    declared = getattr(factory, "search_options", None)
    if declared is None:
        return DEFAULT_OPTIONS
    if not isinstance(declared, SearchOptions):
        raise TypeError(
            f"{getattr(factory, 'name', factory)!r}.search_options must be a "
            f"scenarios.stateful.SearchOptions, got {type(declared).__name__}"
        )
    return declared
