"""pytest plugin `scenarios`: the `--scenario-*` options and the `scenario_target` ini key.

Light on purpose (it imports only pytest): registered in every pytest run of an environment
where the harness is installed, it loads the pack, the adapter and SQLAlchemy
(`scenarios.pack_items`) only when a target is named.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scenarios", "two-sessions regression pack")
    group.addoption("--scenario-target", help="module:attribute of the TargetFactory to test")
    group.addoption(
        "--scenario-wiring", action="append", help="wiring(s) to run (comma-separated; default all)"
    )
    group.addoption(  # the names are checked when a target is named (scenarios.databases.KINDS)
        "--scenario-db", action="append", help="database(s) to run (comma-separated; default all)"
    )
    group.addoption("--scenario-pack", action="append", help="scenario folder(s) or file(s)")
    group.addoption("--scenario-reports", help="write matrix.json/md and JUnit XML here")
    parser.addini("scenario_target", "module:attribute of the TargetFactory to test")


def _target_spec(config: pytest.Config) -> str | None:
    """The option always counts; the ini value only when pytest runs its whole test suite, so
    `pytest tests/some_test.py` does not also run the pack."""
    spec = config.getoption("scenario_target")
    if not spec and config.args_source is not pytest.Config.ArgsSource.ARGS:
        spec = config.getini("scenario_target")
    return str(spec) if spec else None


def pytest_configure(config: pytest.Config) -> None:
    spec = _target_spec(config)
    if spec:
        from scenarios import pack_items

        pack_items.configure(config, spec)
