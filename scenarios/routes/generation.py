"""Requests for one operation, as Schemathesis makes them from the schema: valid ones only
(positive mode), a bounded number, no shrinking, no example database left behind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.schemas import APIOperation


class GenerationFailed(Exception):
    """Schemathesis could not make a request for the operation (its schema, a format)."""


def generate(
    operation: APIOperation[Any, Any, Any, Any], examples: int, seed: int
) -> list[Case[Any]]:
    """Up to `examples` cases, the same ones for the same seed."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fix_seed

    cases: list[Case[Any]] = []

    @fix_seed(seed)
    @settings(
        max_examples=examples,
        phases=[Phase.explicit, Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(operation.as_strategy())
    def collect(case: Case[Any]) -> None:
        cases.append(case)

    try:
        collect()
    except Exception as error:  # Schemathesis' and Hypothesis' errors alike: a reason, not a crash
        text = str(error).strip().splitlines()
        raise GenerationFailed(text[0][:200] if text else type(error).__name__) from error
    return cases[:examples]
