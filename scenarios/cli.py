"""`python -m scenarios run`: run the pack against a target and write the reports;
`python -m scenarios sweep`: the atomicity sweep (scenarios/sweep/cli.py);
`python -m scenarios routes`: every write route of the app's schema (scenarios/routes/cli.py);
`python -m scenarios merge-reports DIR... --reports OUT`: one report from matrix shards.

Exit status: 0 when every verdict is `as_expected`, 1 when any is `unexpected` (or nothing
ran), 2 on bad input (checked before any case runs), an unreachable Postgres under CI, or reports
that could not be written (the verdicts are printed instead).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from scenarios import inputs, mariadb
from scenarios.databases import (
    KINDS,
    ServerUnavailable,
    check_postgres_before_run,
    postgres_required,
)
from scenarios.inputs import BadInput, OneLineParser, count_flag, exit_bad_input
from scenarios.matrix import MatrixRun, run_matrix
from scenarios.merge import MergeError, copy_pages, merge_runs, read_run
from scenarios.outcomes import Verdict
from scenarios.redaction import redact
from scenarios.report import write_reports
from scenarios.routes.cli import add_parser as add_routes_parser
from scenarios.routes.cli import run_routes
from scenarios.runner import CaseResult
from scenarios.scenario import ScenarioError, load_pack
from scenarios.sweep.cli import add_parser as add_sweep_parser
from scenarios.sweep.cli import run_sweep
from scenarios.targets import TargetNotFound, configured_target, load_target

if TYPE_CHECKING:
    from scenarios.stateful import StatefulSearch

REFERENCE_TARGET = "reference_app.adapter:TARGET"  # a name only: scenarios never imports it
# Small on purpose: the buggy wirings fail at once, and the default matrix must stay quick.
STATEFUL_EXAMPLES = 10
STATEFUL = "stateful"  # scenarios.stateful.SCENARIO_NAME, without importing Hypothesis
STATEFUL_WITHOUT_HYPOTHESIS = (
    "the stateful search is left out: Hypothesis is not installed "
    "(pip install 'two-sessions-harness[stateful]')"
)


def _stateful_search(examples: int, reports: Path) -> StatefulSearch | None:
    """The matrix's search case, or None when the [stateful] extra is not installed."""
    try:
        from scenarios.stateful import StatefulSearch
    except ImportError:
        return None
    return StatefulSearch(examples, reports=reports)


def _no_target() -> str:
    """What to pass; and on a core install (no FastAPI, no httpx), the extra the reference app
    needs, since a new user's first try is usually to run it."""
    reference = f"--target {REFERENCE_TARGET} runs the reference app"
    if any(importlib.util.find_spec(name) is None for name in ("fastapi", "httpx")):
        reference += " after pip install 'two-sessions-harness[reference]'"
    return f"no target: pass --target module:attribute or set [tool.scenarios] target; {reference}"


def _split(values: Sequence[str] | None) -> list[str]:
    return [part for value in values or () for part in value.split(",") if part]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m scenarios", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pack and write reports")
    run.add_argument(
        "--target",
        help="module:attribute of the TargetFactory "
        "(default: [tool.scenarios] target in ./pyproject.toml)",
    )
    run.add_argument("--wiring", action="append", help="wiring(s) to run (default: all)")
    run.add_argument(
        "--db", action="append", help=f"database(s): {', '.join(KINDS)} (default: all)"
    )
    run.add_argument(
        "--pack",
        action="append",
        type=Path,
        help="scenario folder or file (default: the built-in pack)",
    )
    run.add_argument("-k", dest="keyword", help="only scenarios whose name contains this")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="report folder")
    run.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    run.add_argument(
        "--stateful-examples",
        type=count_flag(0),
        default=STATEFUL_EXAMPLES,
        metavar="N",
        help="Hypothesis request histories per cell for the `stateful` case "
        f"(default {STATEFUL_EXAMPLES}; 0 leaves the case out)",
    )
    add_sweep_parser(commands)
    add_routes_parser(commands)
    merge = commands.add_parser(
        "merge-reports", help="merge the reports of matrix shards (e.g. CI jobs) into one"
    )
    merge.add_argument("folders", nargs="+", type=Path, metavar="DIR", help="report folders")
    merge.add_argument("--reports", type=Path, required=True, help="folder for the merge")
    return parser


def _merge_reports(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Exit 0/1 as `run` would have for the whole matrix; 2 on a folder that cannot merge."""
    try:
        run = merge_runs([(folder, read_run(folder)) for folder in args.folders])
    except MergeError as error:
        parser.error(str(error))
    for path in [*write_reports(run, args.reports), *copy_pages(args.folders, args.reports)]:
        print(f"wrote {path}")
    return _finish(run)


def _finish(run: MatrixRun) -> int:
    for note in run.notes:
        print(f"note: {note}")
    counts = {v: sum(r.verdict is v for r in run.results) for v in Verdict}
    print(
        f"{counts[Verdict.AS_EXPECTED]} as expected, {counts[Verdict.UNEXPECTED]} unexpected, "
        f"{counts[Verdict.SKIPPED]} skipped, in {run.duration_s:.1f} s"
    )
    ran = counts[Verdict.AS_EXPECTED] + counts[Verdict.UNEXPECTED]
    return 0 if ran and not run.unexpected else 1


def _progress(quiet: bool) -> object:
    def show(result: CaseResult) -> None:
        if result.scenario == STATEFUL and "(flaky: " in result.detail:
            # A finding Hypothesis could not replay is printed even when it was expected.
            print(redact(f"note: {result.id}: {result.detail}"), flush=True)
        if quiet and result.verdict is not Verdict.UNEXPECTED:
            return
        mark = {"as_expected": "ok ", "unexpected": "FAIL", "skipped": "skip"}[result.verdict]
        line = f"{mark} {result.id}: {result.observed}"
        if result.verdict is Verdict.UNEXPECTED:
            line += f" (expected {result.expected}): {result.detail}"
            if result.guard_summary:
                line += f" [session guard: {result.guard_summary}]"
        print(redact(line), flush=True)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        inputs.check_environment()
    except BadInput as error:
        exit_bad_input(error, parser.prog)
    if args.command == "sweep":
        return run_sweep(args)
    if args.command == "routes":
        return run_routes(args)
    if args.command == "merge-reports":
        return _merge_reports(args, parser)
    try:
        inputs.check_existing_paths("--pack", args.pack or ())
        inputs.check_creatable_folder("--reports", args.reports)
        spec = args.target or configured_target()
    except BadInput as error:
        exit_bad_input(error, parser.prog)
    if not spec:
        parser.error(_no_target())
    try:
        factory = load_target(spec)
        scenarios = load_pack(args.pack or ())
    except (TargetNotFound, ScenarioError) as error:
        parser.error(str(error))
    stateful = args.stateful_examples > 0 and (not args.keyword or args.keyword in STATEFUL)
    if args.keyword:
        scenarios = [s for s in scenarios if args.keyword in s.name]
        if not scenarios and not stateful:
            parser.error(f"no scenario name contains {args.keyword!r}")
    wirings = _split(args.wiring) or list(factory.wirings)
    if unknown := sorted(set(wirings) - set(factory.wirings)):
        parser.error(f"unknown wiring(s) {unknown}; {factory.name} has {list(factory.wirings)}")
    databases = _split(args.db) or list(KINDS)
    if unknown := sorted(set(databases) - set(KINDS)):
        parser.error(f"unknown database(s) {unknown}; choose from {list(KINDS)}")
    try:
        if "postgresql" in databases:
            check_postgres_before_run()
        if "mariadb" in databases:
            mariadb.check_before_run()
    except ServerUnavailable as error:
        _postgres_unavailable(error)
        return 2
    search = _stateful_search(args.stateful_examples, args.reports) if stateful else None
    if stateful and search is None:
        print(f"note: {STATEFUL_WITHOUT_HYPOTHESIS}")
    try:
        run: MatrixRun = asyncio.run(
            run_matrix(
                factory,
                wirings=wirings,
                databases=databases,
                scenarios=scenarios,
                progress=_progress(args.quiet),  # type: ignore[arg-type]
                stateful=search,
            )
        )
    except ServerUnavailable as error:
        _postgres_unavailable(error)
        return 2
    try:
        written = write_reports(run, args.reports)
    except OSError as error:
        return _report_unwritable(run, args.reports, error)
    for path in written:
        print(f"wrote {path}")
    return _finish(run)


def _postgres_unavailable(error: ServerUnavailable) -> None:
    """One line: under CI a server that does not answer; anywhere, an embedded server that
    could not start (the message says why and what to do)."""
    server = "MariaDB/MySQL" if isinstance(error, mariadb.MariaDBUnavailable) else "PostgreSQL"
    context = f"{server} is required under CI: " if postgres_required() else ""
    print(f"error: {context}{error}", file=sys.stderr)


def _report_unwritable(run: MatrixRun, folder: Path, error: OSError) -> int:
    """The run is done but its reports are not: print every verdict reached, then say so."""
    for result in run.results:
        line = f"{result.verdict.value} {result.id}: {result.observed}"
        if result.verdict is Verdict.UNEXPECTED:
            line += f" (expected {result.expected})"
        print(redact(line))
    reason = error.strerror or type(error).__name__
    where = error.filename or folder
    print(
        f"error: could not write the reports to {folder} ({where}: {reason}); "
        f"the {len(run.results)} verdicts are printed above",
        file=sys.stderr,
    )
    return inputs.EXIT_BAD_INPUT
