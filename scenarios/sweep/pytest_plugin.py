"""The sweep in a test suite: the `atomicity_sweep` fixture runs a sweep and hands back the
result; the `atomicity_sweep(app_factory, *requests, db=...)` marker runs one after the test
and fails the test when a request is not atomic at every boundary.

    def test_orders_are_atomic(atomicity_sweep):
        result = atomicity_sweep(myapp.factories.app, "POST /orders {\"sku\": \"A\"}")
        assert result.atomic, result.explain()

    @pytest.mark.atomicity_sweep("myapp.factories:app", "POST /orders {}", db="postgresql")
    def test_orders(): ...

Each sweep joins `sweep.json`, `sweep.md` and the `sweep` section of `index.html` in the folder
`--sweep-reports DIR` names (default `reports`, beside what `nox` writes), as the CLI does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from scenarios.sweep.requests import RequestPlan, SweepRequest
    from scenarios.sweep.runner import SweepResult
    from scenarios.sweep.sources import AppFactory, AppSource

# Registered in every pytest run (scenarios.pytest_entry), this module imports only pytest when
# it loads: the sweep, and SQLAlchemy with it, are imported when the fixture or marker is used.

MARKER = "atomicity_sweep"
REPORTS_OPTION = "--sweep-reports"

SweepCall = Callable[..., "SweepResult"]


def explain(result: SweepResult) -> str:
    """One line per request: what the sweep found, where."""
    from scenarios.sweep.cli import request_summary

    return "\n".join(
        [f"atomicity sweep of {result.app_factory} on {result.db}:"]
        + [f"  {request_summary(request)}" for request in result.requests]
    )


def run_sweep_blocking(
    factory: AppFactory | AppSource | str,
    *requests: str | SweepRequest | RequestPlan,
    db: str = "sqlite",
    max_boundaries: int | None = None,
) -> SweepResult:
    """Run a sweep from sync or async test code: on a thread with an event loop of its own.
    `factory` may be an `AppSource` (an app object and its session maker); a `RequestPlan`
    (setup requests, saved values) stands for all the requests (`max_boundaries`: default
    `scenarios.sweep.runner.DEFAULT_MAX_BOUNDARIES`)."""
    import asyncio
    import concurrent.futures

    from scenarios.sweep.requests import RequestPlan, SweepRequest
    from scenarios.sweep.runner import DEFAULT_MAX_BOUNDARIES, sweep
    from scenarios.sweep.sources import load_factory

    limit = DEFAULT_MAX_BOUNDARIES if max_boundaries is None else max_boundaries
    loaded = load_factory(factory) if isinstance(factory, str) else factory
    plans = [r for r in requests if isinstance(r, RequestPlan)]
    plan: RequestPlan | list[SweepRequest] = (
        plans[0]
        if plans
        else [r if isinstance(r, SweepRequest) else SweepRequest.parse(str(r)) for r in requests]
    )
    label = factory if isinstance(factory, str) else None

    def work() -> SweepResult:
        return asyncio.run(sweep(loaded, plan, db, label=label, max_boundaries=limit))

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sweep") as pool:
        return pool.submit(work).result()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("atomicity sweep").addoption(
        REPORTS_OPTION,
        default="reports",
        metavar="DIR",
        help="where the atomicity_sweep fixture and marker write sweep.json, sweep.md and "
        "their section of index.html (default: reports)",
    )


def _reporting(config: pytest.Config) -> SweepCall:
    """`run_sweep_blocking`, then the result joins the reports folder."""
    folder = Path(str(config.getoption(REPORTS_OPTION)))

    def run(*args: Any, **options: Any) -> SweepResult:
        from scenarios.sweep.report import write_reports

        result = run_sweep_blocking(*args, **options)
        write_reports(result, folder)
        return result

    return run


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(app_factory, *requests, db='sqlite'): after the test, sweep each request "
        "with a fault at every boundary and fail unless it is atomic",
    )


@pytest.fixture
def atomicity_sweep(pytestconfig: pytest.Config) -> SweepCall:
    """`atomicity_sweep(factory, *requests, db="sqlite") -> SweepResult`, also reported."""
    return _reporting(pytestconfig)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test with the marker passes, sweep; a request that is not atomic fails it."""
    result = yield
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return result
    if not marker.args:
        pytest.fail(f"@pytest.mark.{MARKER} needs an app factory and at least one request")
    options: dict[str, Any] = dict(marker.kwargs)
    swept = _reporting(item.config)(*marker.args, **options)
    if not swept.atomic:
        pytest.fail(explain(swept), pytrace=False)
    return result
