"""The harness's one pytest11 entry point (`two_sessions_harness`): light, so a team's pytest
start pays nothing for it while no option of the harness is used.

It registers three plugins under the names they have always had, so `-p no:session_guard`,
`-p no:atomicity_sweep` and `-p no:scenarios` still turn one off, and `-p
no:two_sessions_harness` all three:

- `scenarios` (`scenarios.plugin`): the pack as test items, with `--scenario-target`;
- `session_guard` (`scenarios.guard.pytest_plugin`): `--session-guard`, the fixture and marker;
- `atomicity_sweep` (`scenarios.sweep.pytest_plugin`): the fixture, the marker, `--sweep-reports`.

Each imports only pytest when it loads and brings SQLAlchemy and the rest of the harness in
from a hook, once its option, ini key, fixture or marker is used (`tests/porting/
test_light_plugin.py` holds them to it; `benchmarks/plugin_start.py` measures the cost).
"""

from __future__ import annotations

import importlib

import pytest

PLUGINS = {
    "scenarios": "scenarios.plugin",
    "session_guard": "scenarios.guard.pytest_plugin",
    "atomicity_sweep": "scenarios.sweep.pytest_plugin",
}


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Called as this module registers, before pytest parses the command line: the plugins'
    options and early hooks are in place as if each had an entry point of its own."""
    for name, module_name in PLUGINS.items():
        if pluginmanager.is_blocked(name) or pluginmanager.has_plugin(name):
            continue
        module = importlib.import_module(module_name)
        if not pluginmanager.is_registered(module):  # already loaded with `-p MODULE`
            pluginmanager.register(module, name)
