"""The docs cannot rot: every fenced block of docs/ (the guide, docs/porting.md, and every page
beside it) is exercised here, by its tag.

- `python part-of=PATH`: together, in order, the blocks are PATH (every non-blank line);
- `python|toml|yaml excerpt=PATH`: the block appears verbatim in PATH;
- `python run`: executed; `python pytest`: run as a test module; `python nox`: executed with
  a recording stand-in for nox, and the commands it runs are checked like `console check`;
- `console check`: every `$ ` command names a real command, option, target and nox session;
- `toml pyproject`: the keys are the ones the CLI and the plugin read;
- `toml scenario`: loaded and run against the support desk, correct and buggy;
- `json report-cell`: has exactly the fields a report cell has.
A block with any other tag fails the suite.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import shlex
import sys
import tomllib
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from examples.support_desk.adapter import TARGET
from scenarios import inputs, plugin
from scenarios.case_result import CaseResult
from scenarios.cli import build_parser
from scenarios.databases import KINDS, Database
from scenarios.guard import pytest_plugin as guard_plugin
from scenarios.guard.policy import DATA_RULES, parse_allowance, parse_rules
from scenarios.loading import load_attribute
from scenarios.outcomes import Verdict
from scenarios.runner import run_scenarios
from scenarios.scenario import load_scenario
from scenarios.sweep.app import SweepRequest, load_factory
from scenarios.sweep.cli import app_source
from scenarios.sweep.requests import load_request_file
from scenarios.targets import configured_target, load_target

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
GUIDE = DOCS / "porting.md"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FENCE = re.compile(r"^```(\S*)(.*)$")


def pages() -> list[Path]:
    """Every Markdown page of the docs site, the guide first."""
    return sorted(DOCS.rglob("*.md"), key=lambda page: (page != GUIDE, page.as_posix()))


@dataclass(frozen=True)
class Block:
    page: str  # docs/porting.md, ...
    language: str
    tag: str
    option: str | None  # the value of `key=value`, when the tag is one
    body: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.page.removeprefix('docs/')}:line{self.line}-{self.language}-{self.tag}"

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks() -> list[Block]:
    return [block for page in pages() for block in page_blocks(page)]


def page_blocks(page: Path) -> list[Block]:
    name = page.relative_to(REPO_ROOT).as_posix()
    found: list[Block] = []
    current: re.Match[str] | None = None
    start, lines = 0, list[str]()
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if current is None and match and match.group(1):
            current, start, lines = match, number, []
        elif current is not None and line == "```":
            info = current.group(2).strip()
            tag, _, option = info.partition("=")
            body = "\n".join(lines)
            found.append(Block(name, current.group(1), tag, option or None, body, start))
            current = None
        elif current is not None:
            lines.append(line)
    assert current is None, f"unclosed fence at {name}:{start}"
    return found


def of(language: str, tag: str) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in blocks() if (b.language, b.tag) == (language, tag)]


KNOWN = {
    ("python", "part-of"),
    ("python", "excerpt"),
    ("toml", "excerpt"),
    ("yaml", "excerpt"),
    ("python", "run"),
    ("python", "pytest"),
    ("python", "nox"),
    ("console", "check"),
    ("toml", "pyproject"),
    ("toml", "guard-ini"),
    ("toml", "scenario"),
    ("json", "report-cell"),
}


def test_every_block_in_the_guide_has_a_tag_this_test_exercises() -> None:
    untested = [f"{b.where}: ```{b.language} {b.tag}" for b in blocks()]
    untested = [
        u for u, b in zip(untested, blocks(), strict=True) if (b.language, b.tag) not in KNOWN
    ]
    assert untested == []
    assert len(blocks()) >= 20


def test_the_adapter_parts_are_the_whole_adapter_file_in_order() -> None:
    parts = [b for b in blocks() if b.tag == "part-of"]
    assert {b.option for b in parts} == {"examples/support_desk/adapter.py"}
    shown = [line for b in parts for line in b.body.splitlines() if line.strip()]
    source = (REPO_ROOT / "examples/support_desk/adapter.py").read_text(encoding="utf-8")
    assert shown == [line for line in source.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "block", of("python", "excerpt") + of("toml", "excerpt") + of("yaml", "excerpt")
)
def test_an_excerpt_is_quoted_verbatim(block: Block) -> None:
    assert block.option is not None
    assert block.body in (REPO_ROOT / block.option).read_text(encoding="utf-8")


@pytest.mark.parametrize("block", of("python", "run"))
def test_a_python_snippet_runs(block: Block) -> None:
    code = compile(block.body, block.where, "exec")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, {"__name__": "porting_guide"})


@pytest.mark.parametrize("block", of("python", "pytest"))
def test_a_test_in_the_guide_passes_under_pytest(
    block: Block, examples_in_pytester: pytest.Pytester
) -> None:
    pytester = examples_in_pytester
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )
    pytester.makepyfile(test_from_the_guide=block.body)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# -- commands ------------------------------------------------------------------------------


def _nox_sessions() -> set[str]:
    tree = ast.parse((REPO_ROOT / "noxfile.py").read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any("session" in ast.unparse(d) for d in node.decorator_list)
    }


def _plugin_options() -> set[str]:
    names: set[str] = set()

    class Group:
        def addoption(self, *flags: str, **_: Any) -> None:
            names.update(flags)

    class Parser:
        def getgroup(self, *_: Any) -> Group:
            return Group()

        def addini(self, *_: Any, **__: Any) -> None:
            pass

    plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    guard_plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    return names


VARIABLES = {value for name, value in vars(inputs).items() if name.endswith("_VARIABLE")}


def check_command(words: list[str]) -> None:
    """Fail unless `words` is a command the guide may tell a reader to type; it may set the
    harness's own environment variables first (`HARNESS_PG_URL=embedded nox`)."""
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        assert words[0].partition("=")[0] in VARIABLES, words[0]
        words = words[1:]
    match words:
        case ["pip", "install", "-e", _]:
            pass
        case ["pip", "install", "--dry-run", harness] | ["pip", "install", harness] if (
            "two-sessions-harness[" in harness
        ):
            extras = harness.partition("[")[2].rstrip("]").split(",")
            assert set(extras) <= set(PYPROJECT["project"]["optional-dependencies"]), extras
        case ["pip", "freeze", ">", _] | ["diff", _, _]:
            pass
        case ["uv", "add", "--dev", _] | ["uv", "pip", "install", "-e", _]:
            pass
        case ["pip", "install", requirement]:
            assert requirement in PYPROJECT["dependency-groups"]["test"], requirement
        case ["python", "-m", "scenarios.lint", *paths]:
            assert paths
            assert all((REPO_ROOT / path).exists() for path in paths), paths
        case ["python", "-m", "scenarios", "sweep", *arguments]:
            parsed = build_parser().parse_args(["sweep", *arguments])
            assert parsed.db in KINDS, parsed.db
            if parsed.app_factory:
                load_factory(parsed.app_factory)
            else:  # an app object and what it reaches the database through
                app_source(parsed)
                for spec in [parsed.app, *parsed.sessionmaker, *parsed.engine, *parsed.metadata]:
                    load_attribute(spec)
            assert [SweepRequest.parse(line) for line in parsed.request] or (
                parsed.request_file is not None and load_request_file(parsed.request_file)
            )
        case ["python", "-m", "scenarios", "routes", *arguments]:
            parsed = build_parser().parse_args(["routes", *arguments])
            assert parsed.db in KINDS, parsed.db
            load_factory(parsed.app_factory)
        case ["python", "-m", "scenarios", *arguments]:
            parsed = build_parser().parse_args(arguments)
            load_target(parsed.target)
        case ["pytest", *arguments]:
            options = {a.partition("=")[0] for a in arguments if a.startswith("--")}
            assert options <= _plugin_options(), options - _plugin_options()
        case ["nox", *arguments]:
            own = arguments[: arguments.index("--")] if "--" in arguments else arguments
            if own:
                assert own[0] == "-s", own
                assert own[1] in _nox_sessions(), own[1]
        case _:
            pytest.fail(f"the guide names a command this test does not know: {words}")


@pytest.mark.parametrize("block", of("console", "check"))
def test_every_command_names_real_options_targets_and_sessions(block: Block) -> None:
    commands = [line[2:] for line in block.body.splitlines() if line.startswith("$ ")]
    assert commands, "a console block needs at least one `$ ` command"
    for command in commands:
        check_command(shlex.split(command))


@pytest.mark.parametrize("block", of("python", "nox"))
def test_a_noxfile_session_in_the_guide_runs_real_commands(block: Block) -> None:
    sessions: list[Callable[[Any], None]] = []
    ran: list[list[str]] = []

    class Session:
        posargs: tuple[str, ...] = ()

        def install(self, *arguments: str) -> None:
            check_command(["pip", "install", *arguments])

        def run(self, *arguments: str) -> None:
            ran.append(list(arguments))

    fake = types.ModuleType("nox")
    fake.session = sessions.append  # type: ignore[attr-defined]
    fake.Session = Session  # type: ignore[attr-defined]
    saved = sys.modules.get("nox")
    sys.modules["nox"] = fake
    try:
        exec(compile(block.body, block.where, "exec"), {})
    finally:
        if saved is not None:
            sys.modules["nox"] = saved
    assert sessions
    for session in sessions:
        assert session.__doc__, "every nox session has a one-line docstring"
        session(Session())
    assert ran
    for command in ran:
        check_command(command)


# -- configuration, scenarios, reports ---------------------------------------------------


@pytest.mark.parametrize("block", of("toml", "pyproject"))
def test_the_pyproject_settings_are_the_ones_the_tools_read(block: Block, tmp_path: Path) -> None:
    data = tomllib.loads(block.body)
    (tmp_path / "pyproject.toml").write_text(block.body, encoding="utf-8")
    target = configured_target(tmp_path / "pyproject.toml")
    assert target is not None
    load_target(target)
    assert PYPROJECT["tool"]["pytest"]["scenario_target"]  # the same ini key, in use here
    load_target(data["tool"]["pytest"]["scenario_target"])


@pytest.mark.parametrize("block", of("toml", "guard-ini"))
def test_the_guards_ini_settings_are_ones_it_reads_and_parses(block: Block) -> None:
    table = tomllib.loads(block.body)["tool"]["pytest"]
    assert set(table) <= {"session_guard", "session_guard_strict", "session_guard_allow"}
    assert parse_rules(table["session_guard_strict"], origin="guide") == DATA_RULES
    assert [parse_allowance(line, origin="guide") for line in table["session_guard_allow"]]


@pytest.mark.parametrize("block", of("toml", "scenario"))
async def test_the_guides_scenario_passes_the_correct_version_and_catches_the_twin(
    block: Block, tmp_path: Path, desk_sqlite: Database
) -> None:
    path = tmp_path / "guide_scenario.toml"
    path.write_text(block.body, encoding="utf-8")
    scenario = load_scenario(path)
    observed = {}
    for wiring in ("scoped_session", "fresh_session"):
        async with TARGET.open(wiring, desk_sqlite) as target:
            results = await run_scenarios(
                target, [scenario], wiring=wiring, db="sqlite", expected_outcome=lambda *_: "ok"
            )
        assert all(r.verdict is not Verdict.SKIPPED for r in results)
        observed[wiring] = {r.observed for r in results}
    assert observed["scoped_session"] == {"ok"}
    assert "ok" not in observed["fresh_session"]


@pytest.mark.parametrize("block", of("json", "report-cell"))
def test_the_report_cell_shown_has_the_fields_a_report_cell_has(block: Block) -> None:
    cell = json.loads(block.body)
    fields = CaseResult("s", "i", "w", "d", "ok", "ok", Verdict.AS_EXPECTED, "", 0.0).as_dict()
    assert set(cell) == set(fields)
    assert cell["verdict"] in {v.value for v in Verdict}
    # The guard's site it shows is the line of bootstrap.py that opens sessions.
    site = re.search(r"opened at (\S+):(\d+);", cell["session_guard"])
    assert site is not None
    lines = (REPO_ROOT / site.group(1)).read_text(encoding="utf-8").splitlines()
    assert "session_factory()" in lines[int(site.group(2)) - 1]
