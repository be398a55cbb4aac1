"""The command line: `python -m scenarios.lint [--format text|json|sarif] [--config FILE]
[--select CODES] [--extend-select CODES] [--ignore CODES] PATH`.

Exit status: 0 no error-level finding, 1 error-level findings, 2 bad usage or configuration (one
line, no traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from scenarios.inputs import OneLineParser
from scenarios.lint.config import ConfigError, find_pyproject, load_config
from scenarios.lint.output import as_json, as_sarif, text
from scenarios.lint.run import check
from scenarios.lint.selection import Selection, SelectionError, codes_of, with_flags


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m scenarios.lint",
        description="Find code that opens a second database session where one is in hand, or "
        "its own where the work is done. Exit status: 0 none, 1 findings, 2 bad usage.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    parser.add_argument(
        "--config",
        type=Path,
        help="pyproject.toml with [tool.scenarios.lint] (default: the nearest one above each "
        "checked path)",
    )
    parser.add_argument(
        "--isolated", action="store_true", help="ignore every pyproject.toml: defaults only"
    )
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument(
        "--select",
        type=codes_of,
        metavar="CODES",
        help="rules to run, comma-separated (codes, prefixes, ALL); replaces the configured set",
    )
    parser.add_argument(
        "--extend-select", type=codes_of, default=(), metavar="CODES", help="rules to add"
    )
    parser.add_argument(
        "--ignore", type=codes_of, default=(), metavar="CODES", help="rules to leave out"
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    if args.config is not None and not args.config.is_file():
        parser.error(f"no such config file: {args.config}")
    try:
        if args.isolated:
            config = load_config(None)
        elif args.config is not None:
            config = load_config(args.config)
        else:
            config = None
        flags = (args.select, args.extend_select, args.ignore)
        selection = None
        if args.select is not None or args.extend_select or args.ignore:
            base = config.selection if config is not None else _configured(args.paths)
            selection = with_flags(base, select=flags[0], extend_select=flags[1], ignore=flags[2])
        report = check(args.paths, config, selection)
    except (ConfigError, SelectionError) as error:
        parser.error(str(error))
    except RecursionError:
        parser.exit(2, f"{parser.prog}: error: code nested too deeply to check\n")
    cwd = Path.cwd()
    if args.format == "json":
        sys.stdout.write(as_json(report, cwd))
    elif args.format == "sarif":
        sys.stdout.write(as_sarif(report, cwd))
    else:
        out, err = text(report, cwd)
        sys.stdout.write(out)
        sys.stderr.write(err)
    return 1 if report.errors else 0


def _configured(paths: list[Path]) -> Selection:
    """The selection of the configuration found above the first path (flags apply on top)."""
    return load_config(find_pyproject(paths[0])).selection


if __name__ == "__main__":
    sys.exit(main())
