"""The command line: `python -m scenarios.lint [--config pyproject.toml] PATH ...`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from scenarios.inputs import OneLineParser
from scenarios.lint.checker import check
from scenarios.lint.config import ConfigError, find_pyproject, load_config


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m scenarios.lint",
        description="Find code that opens a database session outside the composition root. "
        "Exit status: 1 when it finds any, 0 when none, 2 on bad usage.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    parser.add_argument(
        "--config",
        type=Path,
        help="pyproject.toml with [tool.scenarios.lint] (default: the nearest one above the "
        "working directory)",
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    if args.config is not None and not args.config.is_file():
        parser.error(f"no such config file: {args.config}")
    try:
        config = load_config(args.config or find_pyproject(Path.cwd()))
        findings = check(args.paths, config)
    except ConfigError as error:
        parser.error(str(error))
    except SyntaxError as error:
        print(f"{error.filename}:{error.lineno}: cannot parse: {error.msg}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding.render(Path.cwd()))
    if findings:
        print(f"{len(findings)} session(s) opened outside the composition root", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
