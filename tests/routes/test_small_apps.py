"""The route door on small apps of our own: a shop whose lines live under an order, clean and
buggy three ways. No request is written here; the door makes every one from the schema."""

from __future__ import annotations

import inspect

from scenarios.routes.verdicts import Problem, RouteVerdict
from tests.routes import small_apps
from tests.routes.conftest import Routes

LINES = "POST /orders/{order_id}/lines"
ROUTES = {"POST /orders", LINES, "PUT /orders/{order_id}", "DELETE /orders/{order_id}"}


def by_route(verdicts: list[RouteVerdict]) -> dict[str, RouteVerdict]:
    return {v.route: v for v in verdicts}


def line_of(text: str) -> int:
    source, first = inspect.getsourcelines(small_apps.shop)
    return first + next(i for i, line in enumerate(source) if text in line)


def test_the_clean_shop_has_every_route_reached_swept_and_clean(run_routes: Routes) -> None:
    result = run_routes(small_apps.shop_clean)
    routes = by_route(result.verdicts)
    assert set(routes) == ROUTES
    for verdict in routes.values():
        assert verdict.reached, verdict.unreached_reason
        assert verdict.findings == [], verdict.findings
        assert verdict.swept is not None, f"{verdict.route} was not swept"
    # The nested route was reached with an order an earlier response made, on both databases.
    assert "/orders/" in (routes[LINES].swept or "")
    assert result.clean


def test_a_line_repository_with_its_own_session_is_named_at_its_line(run_routes: Routes) -> None:
    result = run_routes(small_apps.shop_lines_own_session)
    routes = by_route(result.verdicts)
    lines = routes[LINES]
    assert Problem.TWO_WRITERS in lines.problems
    assert Problem.ACKNOWLEDGED_NOT_SAVED in lines.problems
    opened = f"small_apps.py:{line_of('own = maker()')}"
    assert any((f.site or "").endswith(opened) for f in lines.findings), lines.findings
    assert all(not v.findings for route, v in routes.items() if route != LINES)
    assert not result.clean


def test_a_commit_between_the_line_and_the_count_is_a_partial_commit_only_the_sweep_sees(
    run_routes: Routes,
) -> None:
    result = run_routes(small_apps.shop_lines_commit_early)
    routes = by_route(result.verdicts)
    lines = routes[LINES]
    assert lines.problems == [Problem.PARTIAL_COMMIT]
    assert {f.source for f in lines.findings} == {"sweep"}
    assert all(not v.findings for route, v in routes.items() if route != LINES)


def test_without_its_header_every_route_is_unreached_with_why_and_with_it_reached(
    run_routes: Routes,
) -> None:
    refused = run_routes(small_apps.shop_needs_token)
    assert refused.reached == 0
    for verdict in refused.verdicts:
        assert verdict.unreached_reason is not None
        assert verdict.unreached_reason.startswith("401 on every try"), verdict.unreached_reason
    let_in = run_routes(small_apps.shop_needs_token, headers={"X-Token": small_apps.TOKEN})
    assert let_in.reached == len(ROUTES)
    assert let_in.clean
