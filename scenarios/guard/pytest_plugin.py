"""pytest side of the session guard, registered as `session_guard` by the harness's one entry
point (`scenarios.pytest_entry`).

    pytest --session-guard                   # every request the suite sends is one unit; a
    pytest --session-guard=strict            #   summary at the end (strict: findings fail)
    pytest --session-guard-report=PATH       # and JSON for CI; ini: session_guard = report
    pytest --session-guard=strict:acknowledged_not_saved,lost_write   # only these rules fail
    # ini: session_guard_strict = RULES; session_guard_allow = lines of `WHAT -- reason`
    def test_checkout(session_guard): ...            # the test is one unit; findings fail it
    @pytest.mark.session_guard(mode="collect")       # or keep them: session_guard.findings

This module (and `scenarios.guard`, whose names load on first use) imports only pytest when it
loads: a suite that does not use the guard pays nothing for it, and a broken install fails the
tests that use the guard (or the run that asks for the flag), never the rest of the suite.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from scenarios.guard.policy import Policy
    from scenarios.guard.runtime import SessionGuard
    from scenarios.guard.suite import SuiteRecord

MARKER = (
    "session_guard(mode='raise', report_rollbacks=False, rules='all'): run the test as one "
    "session-guard unit; in raise mode a finding of `rules` (a second session, a lost write, a "
    "leaked connection, ...) that no allowlist entry acknowledges fails it"
)
FLAG = "--session-guard"
MODES = ("report", "strict")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("session_guard", "session guard (two sessions in one request)")
    group.addoption(
        FLAG,
        nargs="?",
        const="report",
        default=None,
        dest="session_guard_mode",
        metavar="report|strict[:RULES]",
        help="watch every request the suite sends to an ASGI/WSGI app as one unit; report "
        "(default) prints a summary, strict fails tests whose requests had findings of the "
        "strict rules (default: the rules that mean lost or partial data; strict:all, or "
        "strict:RULE,RULE)",
    )
    group.addoption(
        "--session-guard-report",
        default=None,
        dest="session_guard_report",
        metavar="PATH",
        help="with --session-guard: write the findings as JSON to PATH",
    )
    parser.addini("session_guard", "report or strict: as --session-guard=MODE", default="")
    parser.addini(
        "session_guard_strict",
        "the rules that fail a test in strict mode: data (default), all, or rule names",
        default="",
    )
    parser.addini(
        "session_guard_allow",
        "acknowledged findings, one a line: `[RULE] [path:line | METHOD /route] -- reason`",
        type="linelist",
        default=[],
    )


_early_undo: list[Callable[[], None]] = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """`--session-guard tests/` means report mode on tests/, not a mode named `tests/`; and
    the test clients are watched from here, before the first conftest.py is imported (one may
    create a client at import)."""
    for index, arg in enumerate(args[:-1]):
        if arg == FLAG and _mode_name(args[index + 1]) not in MODES:
            args[index] = f"{FLAG}=report"
    known = early_config.known_args_namespace
    wanted = getattr(known, "session_guard_mode", None) or getattr(
        known, "session_guard_report", None
    )
    if wanted or str(early_config.getini("session_guard")).strip() not in ("", "off"):
        from scenarios.guard.clients import watch_test_clients

        _early_undo.append(watch_test_clients())


def _mode_name(mode: str) -> str:
    return mode.partition(":")[0]


def _mode(config: pytest.Config) -> str:
    mode = config.getoption("session_guard_mode") or str(config.getini("session_guard")).strip()
    if not mode and config.getoption("session_guard_report"):
        mode = "report"
    return "" if mode == "off" else mode


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    mode = _mode(config)
    undo = _early_undo.pop() if _early_undo else None
    if not mode:
        if undo is not None:
            undo()
        return
    if _mode_name(mode) not in MODES:
        if undo is not None:
            undo()
        pytest.exit(f"session guard: unknown mode {mode!r}; use report or strict", returncode=2)
    from scenarios.guard.clients import watch_test_clients
    from scenarios.guard.middleware import push_sink
    from scenarios.guard.policy import PolicyError
    from scenarios.guard.suite import SuiteRecord

    try:
        policy = _policy(config, mode)
    except PolicyError as error:
        if undo is not None:
            undo()
        pytest.exit(f"session guard: {error}", returncode=2)
    record = SuiteRecord(_mode_name(mode), policy)
    report = config.getoption("session_guard_report")
    push_sink(record.add)
    if undo is None:  # a plugin loaded late (`-p`), or an in-process pytest run
        undo = watch_test_clients()
    config.pluginmanager.register(
        _SuiteGuard(record, undo, Path(report) if report else None), "session_guard_suite"
    )


def _policy(config: pytest.Config, mode: str) -> Policy:
    """The rules that fail a test (the flag's `strict:RULES`, else the ini's
    `session_guard_strict`, else the data rules) and the ini's acknowledgements; inline
    `# scenarios: allow-session -- reason` markers are read where findings point."""
    from scenarios.guard.policy import Policy, parse_allowance, parse_rules

    _, _, rules = mode.partition(":")
    origin = "--session-guard"
    if not rules:
        rules, origin = str(config.getini("session_guard_strict")), "ini session_guard_strict"
    ini = config.inipath.name if config.inipath else "ini"
    allowances = tuple(
        parse_allowance(line, origin=f"{ini} session_guard_allow")
        for line in config.getini("session_guard_allow")
        if line.strip()
    )
    return Policy(parse_rules(rules, origin=origin), allowances)


class _SuiteGuard:
    """The flag's hooks: file each request's findings under the running test, fail it in
    strict mode, print the summary, write the JSON."""

    def __init__(self, record: SuiteRecord, undo: Callable[[], None], path: Path | None) -> None:
        self.record = record
        self.undo = undo
        self.path = path
        self._reported: dict[str, int] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.record.current = item.nodeid
        try:
            return (yield)
        finally:
            self.record.current = "(outside any test)"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if self.record.mode != "strict" or call.when == "setup":
            return report
        found = self.record.failures(item.nodeid)
        new = found[self._reported.get(item.nodeid, 0) :]
        if not new:
            return report
        self._reported[item.nodeid] = len(found)
        lines = [f"session guard (strict): {len(new)} finding(s) in this test's requests"]
        lines += [f"  [{f.unit}] {f.kind.value}: {f.message}" for f in new]
        if report.passed and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = "\n".join(lines)
        else:  # already failed (or an expected failure): say it beside the test's own error
            report.sections.append(("session guard", "\n".join(lines)))
        return report

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_sep("=", "session guard")
        for line in self.record.summary_lines():
            terminalreporter.write_line(line)
        if self.path is not None:
            terminalreporter.write_line(f"wrote {self.path}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from scenarios.guard.middleware import pop_sink

        if self.path is not None:
            self.record.write(self.path)
        pop_sink(self.record.add)
        self.undo()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A marked test gets the fixture last, so its unit is the test body, not other fixtures."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        marked = item.get_closest_marker("session_guard") is not None
        if marked and names is not None and "session_guard" not in names:
            names.append("session_guard")


@pytest.fixture
def session_guard(request: pytest.FixtureRequest) -> Iterator[SessionGuard]:
    """The test as one unit: raise mode (default) fails it at teardown when the guard found
    anything (of `rules`, when the marker names them) that the ini's `session_guard_allow` or
    an inline marker has not acknowledged; `@pytest.mark.session_guard(mode="collect")` only
    collects `findings`."""
    from scenarios.guard.policy import PolicyError, parse_rules
    from scenarios.guard.runtime import GuardMode, SessionGuard, SessionGuardError

    marker = request.node.get_closest_marker("session_guard")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(options) - {"mode", "report_rollbacks", "rules"})
    if unknown:
        raise pytest.UsageError(f"session_guard marker: unknown option(s) {unknown}")
    mode = GuardMode(options.get("mode", "raise"))
    try:
        policy = _policy(request.config, "")
        if "rules" in options:
            rules = options["rules"]
            text = rules if isinstance(rules, str) else ",".join(map(str, rules))
            policy.strict = parse_rules(text, origin="session_guard marker")
        else:
            policy.strict = parse_rules("all", origin="session_guard marker")
    except PolicyError as error:
        raise pytest.UsageError(f"session guard: {error}") from None
    with SessionGuard(
        GuardMode.COLLECT,
        label=request.node.nodeid,
        noun="test",
        report_rollbacks=bool(options.get("report_rollbacks", False)),
    ) as unit:
        yield unit
    failing = tuple(f for f in unit.findings if policy.fails(f) and policy.allowed_by(f) is None)
    if mode is GuardMode.RAISE and failing:
        raise SessionGuardError(unit.label, failing, unit.noun)
