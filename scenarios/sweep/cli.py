"""`python -m scenarios sweep`: a fault before every statement of each request, one command.

    python -m scenarios sweep --app-factory MODULE:FUNC --db sqlite|postgresql
        --request 'METHOD PATH [JSON BODY]' [--request ...] [--reports DIR]
    python -m scenarios sweep --app MODULE:ATTR --sessionmaker MODULE:ATTR [--metadata ...]
        --db sqlite --request-file requests.toml [--header 'Authorization: Bearer ...']

The app comes from a factory (`FUNC(url) -> app`) or, for an app built at import with a
module-level engine or container, as the object itself with the session maker (rebound) or
the engine (replaced, or a dependency-injector provider overridden) it reaches the database
through. A request file (TOML) adds setup requests and values saved from responses.

Exit status: 0 when every request is atomic at every boundary, 1 when any is not, 2 on a usage
error (one line on stderr, naming what was wrong).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TypeVar

from scenarios.databases import KINDS, ServerUnavailable
from scenarios.redaction import redact
from scenarios.sweep.report import write_reports
from scenarios.sweep.requests import (
    RequestPlan,
    SweepRequest,
    UsageError,
    load_request_file,
    parse_header,
    plan_with_headers,
)
from scenarios.sweep.runner import DEFAULT_MAX_BOUNDARIES, RequestSweep, SweepResult, sweep
from scenarios.sweep.sources import AppSource
from scenarios.sweep.verdicts import Outcome

_Parser = TypeVar("_Parser", bound=argparse.ArgumentParser)


def add_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    """The `sweep` subcommand; checks its own arguments so each mistake is one line."""
    parser = commands.add_parser(
        "sweep",
        help="inject a fault before every statement of a request and check it is atomic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_app_options(parser)
    parser.add_argument("--db", metavar="|".join(KINDS), help="the scratch database to use")
    add_request_options(parser)
    parser.add_argument(
        "--reports", type=Path, default=Path("reports"), help="report folder (default: reports)"
    )
    parser.add_argument(
        "--max-boundaries",
        type=int,
        default=DEFAULT_MAX_BOUNDARIES,
        metavar="N",
        help="faulted runs per request at most; above it an even sample "
        f"(default {DEFAULT_MAX_BOUNDARIES})",
    )


def add_app_options(parser: argparse.ArgumentParser) -> None:
    """--app-factory, or --app with --sessionmaker / --engine / --metadata (any app layout)."""
    parser.add_argument("--app-factory", metavar="MODULE:FUNC", help="FUNC(url) returns the app")
    parser.add_argument(
        "--app", metavar="MODULE:ATTR", help="the app object itself (built at import)"
    )
    parser.add_argument(
        "--sessionmaker",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="a sessionmaker/async_sessionmaker the app uses: rebound to the scratch database",
    )
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="an engine attribute (or dependency-injector provider) the app uses: replaced",
    )
    parser.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="a MetaData whose tables are created on the scratch database first",
    )


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """--request lines, --request-file, --header: requests as a team writes them."""
    parser.add_argument(
        "--request",
        action="append",
        default=[],
        metavar="'METHOD PATH [JSON BODY]'",
        help="a request to sweep (repeatable; each starts where the one before left the data)",
    )
    parser.add_argument(
        "--request-file",
        type=Path,
        metavar="FILE.toml",
        help="setup requests, requests, headers and saved values (see docs/porting.md)",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="a header for every request (repeatable; ${env.NAME} reads the environment)",
    )


def app_source(args: argparse.Namespace) -> AppSource:
    """The app the options name; UsageError naming what is missing or extra."""
    return AppSource(
        factory=args.app_factory or None,
        app=args.app or None,
        sessionmakers=tuple(args.sessionmaker),
        engines=tuple(args.engine),
        metadata=tuple(args.metadata),
    )


def request_plan(args: argparse.Namespace) -> RequestPlan:
    """The requests the options give, each with the --header values (its own win)."""
    headers = [parse_header(text) for text in args.header]
    lines = [SweepRequest.parse(line) for line in args.request]
    if args.request_file is not None:
        plan, file_headers = load_request_file(args.request_file)
        plan = plan_with_headers(plan, file_headers)
        plan = RequestPlan(plan.requests + lines, plan.setup)
    elif lines:
        plan = RequestPlan(lines)
    else:
        raise UsageError("give at least one --request 'METHOD PATH [JSON BODY]' or --request-file")
    return plan_with_headers(plan, headers)


def _usage(message: str) -> int:
    print(f"error: {redact(message)}", file=sys.stderr)
    return 2


def _summary(request: RequestSweep) -> str:
    """One line for a request, passwords masked (the CLI prints it, the marker fails with it)."""
    name = request.request.describe()
    if request.atomic:
        return redact(f"atomic     {name}: {len(request.boundaries)} boundaries, all ok")
    parts = []
    if request.first.outcome is not Outcome.OK:
        parts.append(f"with no fault {request.first.outcome} ({request.first.detail[:300]})")
    for outcome in Outcome:
        where = [
            f"{b.event.index}{b.event.kind[0].upper()}"
            for b in request.boundaries
            if b.judgement.outcome is outcome and outcome is not Outcome.OK
        ]
        if where:
            parts.append(f"{outcome} at {', '.join(where)}")
    if request.stopped:
        parts.append(request.stopped)
    return redact(f"NOT atomic {name}: " + "; ".join(parts))


def run_sweep(args: argparse.Namespace) -> int:
    if not args.app_factory and not args.app:
        return _usage(
            "--app-factory MODULE:FUNC is required (or --app MODULE:ATTR with --sessionmaker "
            "or --engine)"
        )
    if args.db not in KINDS:
        return _usage(f"--db must be one of {', '.join(KINDS)}, got {args.db!r}")
    if args.max_boundaries < 1:
        return _usage(f"--max-boundaries must be at least 1, got {args.max_boundaries}")
    try:
        source = app_source(args)
        plan = request_plan(args)
        result: SweepResult = asyncio.run(
            sweep(source, plan, args.db, max_boundaries=args.max_boundaries)
        )
    except UsageError as error:
        return _usage(str(error))
    except ServerUnavailable as error:
        return _usage(str(error))
    try:
        written = write_reports(result, args.reports)
    except OSError as error:
        return _usage(f"--reports {str(args.reports)!r}: cannot write the reports ({error})")
    for path in written:
        print(f"wrote {path}")
    for request in result.requests:
        print(_summary(request))
        if request.sampled:
            print(f"  sampled: {len(request.boundaries)} of {len(request.timeline)} boundaries run")
    print(f"{result.runs} runs in {result.duration_s:.1f} s on {result.db}")
    return 0 if result.atomic else 1
