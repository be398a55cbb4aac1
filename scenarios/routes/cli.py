"""`python -m scenarios routes`: every write route of an app's OpenAPI schema, one command.

    python -m scenarios routes --app-factory MODULE:FUNC --db sqlite|postgresql
        [--header 'Name: value' ...] [--reports DIR] [--schema-path /openapi.json]
        [--max-examples N] [--time-budget SECONDS] [--max-boundaries N] [--no-sweep]

Exit status: 0 when no route showed a finding, 1 when any did, 2 on a usage error (one line
on stderr, naming what was wrong). Routes no request reached are reported, never counted clean.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import TypeVar

from scenarios.databases import KINDS, ServerUnavailable
from scenarios.redaction import redact

_Parser = TypeVar("_Parser", bound=argparse.ArgumentParser)
INSTALL = "pip install 'two-sessions-harness[routes]'"


def add_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = commands.add_parser(
        "routes",
        help="generate requests for every write route of the app's OpenAPI schema, under the "
        "session guard, and sweep one per route",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--app-factory", metavar="MODULE:FUNC", help="FUNC(url) returns the app")
    parser.add_argument("--db", metavar="|".join(KINDS), help="the scratch database to use")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="a header every request carries (repeatable), e.g. 'Authorization: Bearer ...'",
    )
    parser.add_argument(
        "--reports", type=Path, default=Path("reports"), help="report folder (default: reports)"
    )
    parser.add_argument(
        "--schema-path",
        default=None,
        metavar="PATH",
        help="where the app serves its OpenAPI schema (default: its openapi_url, /openapi.json)",
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=10,
        metavar="N",
        help="requests per write operation (default 10)",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="for the generated requests; the sweep gets as long (default 60)",
    )
    parser.add_argument(
        "--max-boundaries",
        type=int,
        default=40,
        metavar="N",
        help="faulted runs per swept request at most (default 40)",
    )
    parser.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    parser.add_argument("--no-sweep", action="store_true", help="the guard only, no sweep")


def _usage(message: str) -> int:
    print(f"error: {redact(message)}", file=sys.stderr)
    return 2


def _progress(line: str) -> None:
    print(redact(line), file=sys.stderr, flush=True)


def run_routes(args: argparse.Namespace) -> int:
    if not args.app_factory:
        return _usage("--app-factory MODULE:FUNC is required")
    if args.db not in KINDS:
        return _usage(f"--db must be one of {', '.join(KINDS)}, got {args.db!r}")
    if args.max_examples < 1:
        return _usage(f"--max-examples must be at least 1, got {args.max_examples}")
    if not args.time_budget > 0:
        return _usage(f"--time-budget must be more than 0 seconds, got {args.time_budget}")
    if args.max_boundaries < 1:
        return _usage(f"--max-boundaries must be at least 1, got {args.max_boundaries}")
    if importlib.util.find_spec("schemathesis") is None:
        return _usage(f"the route door needs Schemathesis: {INSTALL}")
    from scenarios.routes.headers import parse_headers
    from scenarios.routes.report import write_reports
    from scenarios.routes.run import Limits, check_routes
    from scenarios.sweep.app import UsageError, load_factory

    try:
        headers = parse_headers(args.header)
        factory = load_factory(args.app_factory)
        limits = Limits(
            examples=args.max_examples,
            budget_s=args.time_budget,
            max_boundaries=args.max_boundaries,
            seed=args.seed,
            sweep=not args.no_sweep,
        )
        result = asyncio.run(
            check_routes(
                factory,
                args.db,
                label=args.app_factory,
                headers=headers,
                schema_path=args.schema_path,
                limits=limits,
                progress=_progress,
            )
        )
    except (UsageError, ServerUnavailable) as error:
        return _usage(str(error))
    try:
        written = write_reports(result, args.reports)
    except OSError as error:
        return _usage(f"--reports {str(args.reports)!r}: cannot write the reports ({error})")
    for path in written:
        print(f"wrote {path}")
    for verdict in result.verdicts:
        if verdict.findings:
            print(redact(f"FINDINGS   {verdict.route}: " + ", ".join(map(str, verdict.problems))))
            for finding in verdict.findings:
                site = f" [{finding.site}]" if finding.site else ""
                print(redact(f"  {finding.problem} ({finding.source}){site}: {finding.message}"))
        elif verdict.reached:
            print(f"clean      {verdict.route}")
        else:
            print(f"unreached  {verdict.route}: {verdict.unreached_reason}")
    for note in result.notes:
        print(redact(f"note: {note}"))
    print(
        f"{result.reached} of {len(result.verdicts)} write routes reached, {result.requests} "
        f"requests in {result.drive_s:.1f} s, sweep {result.sweep_s:.1f} s, on {result.db}"
    )
    return 0 if result.clean else 1
