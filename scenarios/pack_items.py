"""The scenario pack as pytest items, one per scenario x interleaving x wiring x database, e.g.
`scenarios::two_sessions-postgresql-first_message_new_session[sequence]`.

Loaded and registered (as `scenarios_pack`) by the light `scenarios.plugin` only once a target
is named (`--scenario-target` or the `scenario_target` ini option). The items run on the
plugin's own event loop. One target is open at a time (the previous one is closed before the
next opens, and items are grouped by wiring and database so each opens once): an adapter over
an app with a module-level engine or container may re-point it in `open`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scenarios import inputs
from scenarios.adapter import Target, TargetFactory
from scenarios.databases import (
    KINDS,
    Database,
    ServerUnavailable,
    open_scratch_database,
    postgres_required,
)
from scenarios.matrix import MatrixRun
from scenarios.outcomes import Verdict
from scenarios.redaction import redact
from scenarios.report import write_reports
from scenarios.runner import CaseResult, missing_capabilities, run_case
from scenarios.scenario import Interleaving, Scenario, ScenarioError, load_pack
from scenarios.targets import TargetNotFound, load_target

PLUGIN_NAME = "scenarios_pack"


def _split(values: list[str] | None) -> list[str]:
    return [part for value in values or () for part in value.split(",") if part]


class ScenarioSession:
    """Scratch databases and open targets shared by every item, on one event loop."""

    def __init__(self, factory: TargetFactory) -> None:
        self.factory = factory
        self.runner = asyncio.Runner()
        self.stack = AsyncExitStack()
        self.databases: dict[str, Database | ServerUnavailable] = {}
        self.open_target: tuple[tuple[str, str], Target, AsyncExitStack] | None = None
        self.results: list[CaseResult] = []

    async def _database(self, kind: str) -> Database:
        if kind not in self.databases:
            try:
                self.databases[kind] = await self.stack.enter_async_context(
                    open_scratch_database(kind)
                )
            except ServerUnavailable as unavailable:
                self.databases[kind] = unavailable
        found = self.databases[kind]
        if isinstance(found, ServerUnavailable):
            raise found
        return found

    async def _target(self, wiring: str, kind: str) -> Target:
        if self.open_target is not None and self.open_target[0] == (wiring, kind):
            return self.open_target[1]
        await self._close_target()
        database = await self._database(kind)
        stack = AsyncExitStack()
        target = await stack.enter_async_context(self.factory.open(wiring, database))
        self.open_target = ((wiring, kind), target, stack)
        return target

    async def _close_target(self) -> None:
        if self.open_target is not None:
            stack = self.open_target[2]
            self.open_target = None
            await stack.aclose()

    async def _close(self) -> None:
        try:
            await self._close_target()
        finally:
            await self.stack.aclose()

    async def _run(
        self, scenario: Scenario, interleaving: Interleaving, wiring: str, kind: str
    ) -> CaseResult | str:
        target = await self._target(wiring, kind)
        reason = missing_capabilities(target, scenario)
        if reason:
            return reason
        expected = self.factory.expected_outcome(scenario.name, interleaving.id, wiring, kind)
        result = await run_case(
            target, scenario, interleaving, wiring=wiring, db=kind, expected=expected
        )
        database = self.databases[kind]
        assert isinstance(database, Database)
        return dataclasses.replace(result, server_version=database.server_version)

    def run(
        self, scenario: Scenario, interleaving: Interleaving, wiring: str, kind: str
    ) -> CaseResult | str:
        return self.runner.run(self._run(scenario, interleaving, wiring, kind))

    def close(self) -> None:
        try:
            self.runner.run(self._close())
        finally:
            self.runner.close()


class ScenarioFailure(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.id)
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(
        self,
        *,
        scenario: Scenario,
        interleaving: Interleaving,
        wiring: str,
        db: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.interleaving = interleaving
        self.wiring = wiring
        self.db = db
        for keyword in (scenario.name, wiring, db, "scenarios"):
            self.keywords[keyword] = True

    def runtest(self) -> None:
        session: ScenarioSession = self.config.stash[_SESSION_KEY]
        try:
            outcome = session.run(self.scenario, self.interleaving, self.wiring, self.db)
        except ServerUnavailable as unavailable:
            if postgres_required():
                raise
            pytest.skip(f"{self.db} unavailable: {unavailable}")
        if isinstance(outcome, str):
            pytest.skip(outcome)
        session.results.append(outcome)
        if outcome.verdict is Verdict.UNEXPECTED:
            raise ScenarioFailure(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailure):
            result = excinfo.value.result
            return redact(
                "\n".join(
                    [
                        f"scenario {result.scenario} ({self.scenario.path.name}): "
                        f"{self.scenario.guards}",
                        f"wiring {result.wiring} on {result.db}, "
                        f"interleaving {result.interleaving}",
                        f"steps:     {' -> '.join(result.steps)}",
                        f"responses: {', '.join(result.responses)}",
                        f"expected:  {result.expected}",
                        f"observed:  {result.observed}",
                        f"detail:    {result.detail}",
                        f"guard:     {result.guard_summary or 'one session per request'}",
                        "rows a fresh connection found:",
                        json.dumps(result.rows, indent=2, ensure_ascii=False),
                    ]
                )
            )
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.scenario.path, 0, f"scenario {self.name}"


_SESSION_KEY = pytest.StashKey[ScenarioSession]()


@dataclass(frozen=True)
class _Plan:
    """What the options ask for, checked in pytest_configure before any test runs."""

    factory: TargetFactory
    wirings: list[str]
    databases: list[str]
    scenarios: list[Scenario]


_PLAN_KEY = pytest.StashKey[_Plan]()


def _plan(config: pytest.Config, spec: str) -> _Plan:
    inputs.check_environment()
    packs = inputs.check_existing_paths(
        "--scenario-pack", [Path(p) for p in _split(config.getoption("scenario_pack"))]
    )
    if reports := config.getoption("scenario_reports"):
        inputs.check_creatable_folder("--scenario-reports", reports)
    factory = load_target(spec)
    wirings = inputs.check_choices(
        "--scenario-wiring",
        _split(config.getoption("scenario_wiring")) or factory.wirings,
        factory.wirings,
    )
    databases = inputs.check_choices(
        "--scenario-db", _split(config.getoption("scenario_db")) or KINDS, KINDS
    )
    return _Plan(factory, wirings, databases, load_pack(packs))


def configure(config: pytest.Config, spec: str) -> None:
    """Called by `scenarios.plugin` once a target is named: check every option before any test
    runs, then take part in the collection and in the session's end."""
    try:
        config.stash[_PLAN_KEY] = _plan(config, spec)
    except (inputs.BadInput, TargetNotFound, ScenarioError) as error:
        pytest.exit(f"error: {error}", returncode=inputs.EXIT_BAD_INPUT)
    config.pluginmanager.register(sys.modules[__name__], PLUGIN_NAME)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    plan = config.stash.get(_PLAN_KEY, None)
    if plan is None:
        return
    factory, wirings, databases = plan.factory, plan.wirings, plan.databases
    config.stash[_SESSION_KEY] = ScenarioSession(factory)
    pack: list[pytest.Item | pytest.Collector] = []
    # Grouped by wiring and database, so each target is opened once (one open at a time).
    for wiring in wirings:
        for db in databases:
            for scenario in plan.scenarios:
                for interleaving in scenario.interleavings():
                    name = f"{wiring}-{db}-{scenario.name}[{interleaving.id}]"
                    pack.append(
                        ScenarioItem.from_parent(
                            session,
                            name=name,
                            nodeid=f"scenarios::{name}",
                            scenario=scenario,
                            interleaving=interleaving,
                            wiring=wiring,
                            db=db,
                        )
                    )
    items.extend(item for item in pack if isinstance(item, pytest.Item))
    # Report them as collected, so the terminal's "collected N items" counts the pack too.
    config.hook.pytest_collectreport(report=pytest.CollectReport("scenarios", "passed", None, pack))


def pytest_sessionfinish(session: pytest.Session) -> None:
    scenario_session = session.config.stash.get(_SESSION_KEY, None)
    if scenario_session is None:
        return
    scenario_session.close()
    directory = session.config.getoption("scenario_reports")
    if directory and scenario_session.results:
        run = MatrixRun(target=scenario_session.factory.name, results=scenario_session.results)
        run.duration_s = sum(r.duration_s for r in run.results)
        try:
            write_reports(run, Path(directory))
        except OSError as error:  # the verdicts are in pytest's own report; say what is missing
            session.config.get_terminal_writer().line(
                f"error: could not write the scenario reports to {directory} "
                f"({error.filename or directory}: {error.strerror or error})",
                red=True,
            )
            session.exitstatus = inputs.EXIT_BAD_INPUT
