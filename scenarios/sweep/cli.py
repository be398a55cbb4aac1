"""`python -m scenarios sweep`: a fault before every statement of each request, one command.

    python -m scenarios sweep --app-factory MODULE:FUNC --db sqlite|postgresql
        --request 'METHOD PATH [JSON BODY]' [--request ...] [--reports DIR]

Exit status: 0 when every request is atomic at every boundary, 1 when any is not, 2 on a usage
error (one line on stderr, naming what was wrong).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TypeVar

from scenarios.databases import KINDS, PostgresUnavailable
from scenarios.redaction import redact
from scenarios.sweep.app import SweepRequest, UsageError, load_factory
from scenarios.sweep.report import write_reports
from scenarios.sweep.runner import DEFAULT_MAX_BOUNDARIES, RequestSweep, SweepResult, sweep
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
    parser.add_argument("--app-factory", metavar="MODULE:FUNC", help="FUNC(url) returns the app")
    parser.add_argument("--db", metavar="|".join(KINDS), help="the scratch database to use")
    parser.add_argument(
        "--request",
        action="append",
        default=[],
        metavar="'METHOD PATH [JSON BODY]'",
        help="a request to sweep (repeatable; each starts where the one before left the data)",
    )
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
        parts.append(f"with no fault {request.first.outcome} ({request.first.detail[:160]})")
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
    if not args.app_factory:
        return _usage("--app-factory MODULE:FUNC is required")
    if args.db not in KINDS:
        return _usage(f"--db must be one of {', '.join(KINDS)}, got {args.db!r}")
    if not args.request:
        return _usage("give at least one --request 'METHOD PATH [JSON BODY]'")
    if args.max_boundaries < 1:
        return _usage(f"--max-boundaries must be at least 1, got {args.max_boundaries}")
    try:
        requests = [SweepRequest.parse(line) for line in args.request]
        factory = load_factory(args.app_factory)
        result: SweepResult = asyncio.run(
            sweep(
                factory,
                requests,
                args.db,
                label=args.app_factory,
                max_boundaries=args.max_boundaries,
            )
        )
    except UsageError as error:
        return _usage(str(error))
    except PostgresUnavailable as error:
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
