"""MkDocs hook: the reference pages are rendered from the code they describe, and checked by it.

- A line `<!-- reference:NAME -->` is replaced by what `RENDERERS[NAME]` makes of the code: the
  commands' `--help`, the pytest options (from the plugins pyproject.toml registers), the nox
  sessions (from noxfile.py), the lint rules and configuration keys, a report cell's fields.
- A page in `COVERS` must name, in backticks, every value of its set (the outcomes, the guard's
  findings, the variables, ...): a value added to the code and not explained there is a warning,
  and `mkdocs build --strict` (`nox -s docs`) fails on it. The pages cannot drift from the code.
- Fences tagged for tests/porting/test_porting_guide.py (```` ```python run ````) lose the tag,
  which Markdown would not read: the site shows the code, the test still runs it.

Every function here is plain Python over the project's own modules; tests/docs imports them
without MkDocs.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import importlib
import io
import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- reference:(?P<name>[\w-]+) -->$", re.MULTILINE)
TAGGED_FENCE = re.compile(r"^(?P<fence>```[\w+-]+)[ \t]+\S.*$", re.MULTILINE)
HELP_COLUMNS = "100"

log = logging.getLogger("mkdocs.hooks.reference")


# Rendering -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _columns() -> Iterator[None]:
    """argparse wraps help to the terminal's width: the same width wherever the site is built."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def _printed_help(main: Callable[[], object]) -> str:
    """What `main` prints before argparse exits on `--help`."""
    out = io.StringIO()
    with _columns(), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main()
    return out.getvalue().rstrip()


def _block(title: str, text: str) -> str:
    return f"### `{title}`\n\n```text\n{text}\n```\n"


def commands() -> str:
    """`python -m scenarios` and each of its subcommands, and `python -m scenarios.lint`."""
    from scenarios.cli import build_parser
    from scenarios.lint.__main__ import main as lint_main

    parser = build_parser()
    with _columns():
        usage = parser.format_usage()
    found = re.search(r"\{(?P<names>[\w,-]+)\}", usage)
    names = found["names"].split(",") if found else []
    parts = [_block("python -m scenarios", _printed_help(lambda: parser.parse_args(["--help"])))]
    for name in names:
        text = _printed_help(functools.partial(build_parser().parse_args, [name, "--help"]))
        parts.append(_block(f"python -m scenarios {name}", text))
    parts.append(_block("python -m scenarios.lint", _printed_help(lambda: lint_main(["--help"]))))
    return "\n".join(parts)


class _RecordingParser:
    """Stands in for pytest's parser: records what a plugin's `pytest_addoption` declares."""

    def __init__(self) -> None:
        self.options: list[tuple[str, str, str]] = []  # group, names, help
        self.ini: list[tuple[str, str]] = []
        self._group = ""

    def getgroup(self, name: str, description: str = "") -> _RecordingParser:
        self._group = description or name
        return self

    def addoption(self, *names: str, **attrs: Any) -> None:
        metavar = attrs.get("metavar")
        shown = ", ".join(f"{n}={metavar}" if metavar else n for n in names)
        self.options.append((self._group, shown, str(attrs.get("help", ""))))

    def addini(self, name: str, help: str, **attrs: Any) -> None:
        self.ini.append((name, help))


def pytest_plugins() -> dict[str, str]:
    """The pytest plugins the distribution registers through its one entry point (plugin name ->
    module), as `scenarios.pytest_entry` registers them."""
    from scenarios.pytest_entry import PLUGINS

    return dict(PLUGINS)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def pytest_options() -> str:
    recorder = _RecordingParser()
    for module in pytest_plugins().values():
        importlib.import_module(module).pytest_addoption(recorder)
    rows = ["| option | group | what it does |", "|---|---|---|"]
    rows += [f"| `{names}` | {group} | {_cell(text)} |" for group, names, text in recorder.options]
    rows += ["", "Ini keys (`[tool.pytest]`, `pytest.ini`):", ""]
    rows += ["| key | what it sets |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(text)} |" for name, text in recorder.ini]
    return "\n".join(rows) + "\n"


@dataclasses.dataclass(frozen=True)
class NoxSession:
    name: str
    summary: str
    default: bool


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return ast.unparse(target)


def nox_sessions(noxfile: Path = ROOT / "noxfile.py") -> list[NoxSession]:
    """The sessions noxfile.py declares, read from its source (nox itself is not imported)."""
    tree = ast.parse(noxfile.read_text(encoding="utf-8"))
    defaults: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "nox.options.sessions":
            defaults = list(ast.literal_eval(node.value))
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = {_decorator_name(d): d for d in node.decorator_list}
        session = decorators.get("nox.session")
        if session is None:
            continue
        name = node.name
        if isinstance(session, ast.Call):
            for keyword in session.keywords:
                if keyword.arg == "name":
                    name = ast.literal_eval(keyword.value)
        if "nox.parametrize" in decorators:
            name += "(" + "-".join(a.arg.upper() for a in node.args.args[1:]) + ")"
        summary = (ast.get_docstring(node) or "").split("\n\n")[0]
        found.append(NoxSession(name, " ".join(summary.split()), node.name in defaults))
    return found


def nox_table() -> str:
    rows = ["| session | what it does |", "|---|---|"]
    for session in nox_sessions():
        name = f'"{session.name}"' if "(" in session.name else session.name
        how = "`nox`" if session.default else f"`nox -s {name}`"
        rows.append(f"| {how} | {_cell(session.summary)} |")
    return "\n".join(rows) + "\n"


def lint_rules() -> str:
    from scenarios.lint.findings import RULES, WARNINGS

    rows = ["| code | rank | message |", "|---|---|---|"]
    for code, message in RULES.items():
        rank = "2 (warning)" if code in WARNINGS else "1 (read first)"
        rows.append(f"| `{code}` | {rank} | {_cell(message)} |")
    return "\n".join(rows) + "\n"


def lint_keys() -> str:
    from scenarios.lint.config import DEFAULTS, KEYS

    rows = ["| key | default patterns |", "|---|---|"]
    for key in KEYS:
        default = ", ".join(f"`{p}`" for p in DEFAULTS.get(key, ())) or "none"
        rows.append(f"| `{key}` | {default} |")
    return "\n".join(rows) + "\n"


def report_cell_fields() -> list[str]:
    """The keys of one cell of `matrix.json`, from a real `CaseResult`."""
    from scenarios.case_result import CaseResult
    from scenarios.outcomes import Verdict

    cell = CaseResult("s", "i", "w", "sqlite", "ok", "ok", Verdict.AS_EXPECTED, "", 0.0)
    return list(cell.as_dict())


def report_cell() -> str:
    return "\n".join(f"- `{key}`" for key in report_cell_fields()) + "\n"


def _included(path: Path) -> str:
    """A Markdown file of the repository without its title, its headings one level down (so
    they sit under the page's own)."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    fenced = False
    shifted = []
    for line in lines:
        fenced ^= line.startswith("```")
        shifted.append(f"#{line}" if line.startswith("#") and not fenced else line)
    return "\n".join(shifted) + "\n"


def reports_readme() -> str:
    """reports/README.md: the report files, and the sweep's format."""
    return _included(ROOT / "reports" / "README.md")


def scenario_format() -> str:
    return _included(ROOT / "scenarios" / "pack" / "README.md")


def extras() -> str:
    """The distribution's requirements and extras, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    rows = ["| install | brings |", "|---|---|"]
    plain = ", ".join(f"`{d}`" for d in project["dependencies"])
    rows.append(f"| `pip install {project['name']}` | {plain} |")
    for extra, needs in project["optional-dependencies"].items():
        rows.append(f"| `[{extra}]` | {', '.join(f'`{d}`' for d in needs)} |")
    return "\n".join(rows) + "\n"


def _summary(path: Path) -> str:
    """The first paragraph of a module's docstring, read from its source."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return " ".join(docstring.split("\n\n")[0].split())


def modules() -> str:
    """Every module and subpackage of `scenarios`, with what its docstring says it is."""
    package = ROOT / "scenarios"
    rows = ["| module | what it is |", "|---|---|"]
    for path in sorted(package.iterdir()):
        if path.is_dir() and (path / "__init__.py").exists():
            rows.append(f"| `{path.name}/` | {_cell(_summary(path / '__init__.py'))} |")
        elif path.suffix == ".py" and path.name not in {"__init__.py", "__main__.py"}:
            rows.append(f"| `{path.name}` | {_cell(_summary(path))} |")
    return "\n".join(rows) + "\n"


RENDERERS: dict[str, Callable[[], str]] = {
    "commands": commands,
    "pytest-options": pytest_options,
    "nox-sessions": nox_table,
    "lint-rules": lint_rules,
    "lint-keys": lint_keys,
    "report-cell": report_cell,
    "reports-readme": reports_readme,
    "scenario-format": scenario_format,
    "extras": extras,
    "modules": modules,
}


# Checking ------------------------------------------------------------------------------------


def _enum(module: str, name: str) -> set[str]:
    """The values of an enum the code defines."""
    return {str(value) for value in getattr(importlib.import_module(module), name)}


def matrix_outcomes() -> set[str]:
    return _enum("scenarios.outcomes", "Outcome")


def verdicts() -> set[str]:
    return _enum("scenarios.outcomes", "Verdict")


def guard_findings() -> set[str]:
    return _enum("scenarios.guard.findings", "Kind")


def sweep_outcomes() -> set[str]:
    return _enum("scenarios.sweep.verdicts", "SweepVerdict")


def variables() -> set[str]:
    """Every `*_VARIABLE` the input checks know, and `CI` (read where it is used:
    scenarios.databases, the stateful profiles)."""
    inputs = importlib.import_module("scenarios.inputs")
    return {v for k, v in vars(inputs).items() if k.endswith("_VARIABLE")} | {"CI"}


def scenarios_keys() -> set[str]:
    return set(importlib.import_module("scenarios.inputs").SCENARIOS_TABLE_KEYS)


def lint_config_keys() -> set[str]:
    return set(importlib.import_module("scenarios.lint.config").KEYS)


def rule_codes() -> set[str]:
    return set(importlib.import_module("scenarios.lint.findings").RULES)


# page -> section heading -> the names that section must mention in backticks
COVERS: dict[str, dict[str, Callable[[], set[str]]]] = {
    "reference/outcomes.md": {
        "Matrix outcomes": matrix_outcomes,
        "Verdicts": verdicts,
        "Guard findings": guard_findings,
        "Sweep outcomes": sweep_outcomes,
    },
    "reference/configuration.md": {
        "Environment variables": variables,
        "`[tool.scenarios]`": scenarios_keys,
        "The static check: `[tool.scenarios.lint]`": lint_config_keys,
    },
    "reference/lint-rules.md": {"What to do about each": rule_codes},
}


def section(markdown: str, heading: str) -> str | None:
    """The text under `## heading`, up to the next heading of that level; None if absent."""
    found = re.search(rf"^## {re.escape(heading)}\n(?P<body>.*?)(?=^## |\Z)", markdown, re.M | re.S)
    return found["body"] if found else None


def gaps(markdown: str, page: str) -> list[str]:
    """What the page's sections fail to mention of what the code defines (empty: none)."""
    problems = []
    for heading, names in COVERS.get(page, {}).items():
        body = section(markdown, heading)
        if body is None:
            problems.append(f"{page} has no section '## {heading}'")
            continue
        problems += [
            f"{page}, '## {heading}', does not explain `{name}`, which the code defines"
            for name in sorted(names())
            if f"`{name}`" not in body
        ]
    return problems


def render(markdown: str, page: str) -> str:
    """The page as the site shows it; warns (a failure under --strict) on what it lacks."""
    for problem in gaps(markdown, page):
        log.warning(problem)

    def expand(match: re.Match[str]) -> str:
        renderer = RENDERERS.get(match["name"])
        if renderer is None:
            log.warning(f"{page}: no reference renderer named {match['name']!r}")
            return match[0]
        return renderer()

    markdown = MARKER.sub(expand, markdown)
    return TAGGED_FENCE.sub(lambda m: m["fence"], markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return render(markdown, page.file.src_uri)
