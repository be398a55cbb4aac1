"""The zoo's whole matrix, built once per test run and read by every module that needs it.

tests/zoo/test_zoo.py scores each variant's detectors from it; tests/stateful/test_leaks.py reads
its searches of the leaking variants (a leak found where its connection was taken, and the
search going on past it). Before, test_leaks ran those searches again on its own, under CI with
the 200-example profile: the same machine on the same apps, proving what the zoo's run already
had (docs/benchmarks.md, "Each thing proven once").
"""

from __future__ import annotations

import gc
import warnings

import pytest

from scenarios.matrix import MatrixRun, run_matrix
from scenarios.scenario import load_pack
from scenarios.stateful import StatefulSearch
from tests.whole_matrix import OPEN_TARGETS, run_once_per_test_run
from tests.zoo.adapter import VARIANTS, ZOO

# The leak variants leave connections that only the garbage collector finds; SQLAlchemy warns
# when it does. Expected here, and collected before the fixture returns.
GC_OF_LEAKED_CONNECTION = "The garbage collector is trying to clean up non-checked-in connection"
DATABASES = ("sqlite", "postgresql", "mariadb")
SEARCH_EXAMPLES = 10  # the default matrix's
# The zoo's searches mostly wait (each replay of a leak or lock bug on MariaDB waits out a
# whole second), so more processes than cores run them side by side.
SEARCH_WORKERS = 4


def selected_variants(session: pytest.Session) -> list[str]:
    """The variants whose tests this run selected (a `variant` parameter), in the table's
    order. Every pytest-xdist worker collects the same items, so every worker chooses alike."""
    chosen = {
        item.callspec.params["variant"]
        for item in session.items
        if isinstance(item, pytest.Function)
        and hasattr(item, "callspec")
        and "variant" in item.callspec.params
    }
    return [variant for variant in VARIANTS if variant in chosen]


async def zoo_matrix(
    session: pytest.Session, tmp_path_factory: pytest.TempPathFactory
) -> MatrixRun:
    """One matrix over the variants selected (the databases side by side, at most OPEN_TARGETS
    targets open on each; the searches beside them), once per test run: under pytest-xdist the
    first worker that needs it runs it, the others wait for and read its result."""

    async def run() -> MatrixRun:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", GC_OF_LEAKED_CONNECTION)
            found = await run_matrix(
                ZOO,
                wirings=selected_variants(session),
                databases=DATABASES,
                scenarios=load_pack(),
                stateful=StatefulSearch(SEARCH_EXAMPLES, workers=SEARCH_WORKERS),
                open_targets=OPEN_TARGETS,
            )
            gc.collect()  # now, not in some later test: the leaked sessions' connections
        return found

    return await run_once_per_test_run(tmp_path_factory, "zoo-matrix", run)
