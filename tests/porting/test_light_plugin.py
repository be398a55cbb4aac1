"""The harness's pytest plugin is installed into a team's environment and loads in every pytest
run there: one entry point, light (pytest and the harness's own small hook modules, nothing
else) until an option, ini key, fixture or marker of it is used, and every name it had before
still there (issue 25). Figures: benchmarks/plugin_start.py."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

import scenarios.guard
import scenarios.sweep
from benchmarks import plugin_start

LIGHT_MODULES = [
    "scenarios",
    "scenarios.guard",
    "scenarios.guard.pytest_plugin",
    "scenarios.plugin",
    "scenarios.pytest_entry",
    "scenarios.sweep",
    "scenarios.sweep.pytest_plugin",
]
# Loaded only when asked for: SQLAlchemy, and the parts of the harness that import it.
HEAVY = ("sqlalchemy", "scenarios.guard.runtime", "scenarios.sweep.app", "scenarios.pack_items")

REPORT_HEAVY = f"""
import json
import sys


def test_report(pytestconfig):
    names = ("two_sessions_harness", "scenarios", "session_guard", "atomicity_sweep")
    print("REPORT " + json.dumps({{
        "heavy": [m for m in {HEAVY!r} if m in sys.modules],
        "plugins": [n for n in names if pytestconfig.pluginmanager.has_plugin(n)],
    }}))
"""


def _report(pytester: pytest.Pytester, *args: str) -> dict[str, list[str]]:
    pytester.makepyfile(test_report=REPORT_HEAVY)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    (line,) = [line for line in result.outlines if "REPORT {" in line]
    found: dict[str, list[str]] = json.loads(line.partition("REPORT ")[2])
    return found


def test_the_distribution_has_one_pytest_entry_point() -> None:
    ours = [
        entry
        for entry in importlib.metadata.entry_points(group="pytest11")
        if entry.value.split(".")[0] == "scenarios"
    ]
    assert [(e.name, e.value) for e in ours] == [("two_sessions_harness", "scenarios.pytest_entry")]


def test_a_pytest_start_loads_nothing_heavy_and_registers_the_three_plugins(
    pytester: pytest.Pytester,
) -> None:
    found = _report(pytester)
    assert found["heavy"] == []
    assert found["plugins"] == [
        "two_sessions_harness",
        "scenarios",
        "session_guard",
        "atomicity_sweep",
    ]


def test_the_flag_loads_the_guard_where_it_is_asked_for(pytester: pytest.Pytester) -> None:
    """The report above is not blind: with the flag, the guard's runtime is there."""
    found = _report(pytester, "--session-guard")
    assert "scenarios.guard.runtime" in found["heavy"]
    assert "sqlalchemy" in found["heavy"]


def test_each_plugin_still_turns_off_by_its_old_name(pytester: pytest.Pytester) -> None:
    found = _report(pytester, "-p", "no:session_guard")
    assert found["plugins"] == ["two_sessions_harness", "scenarios", "atomicity_sweep"]
    found = _report(pytester, "-p", "no:atomicity_sweep", "-p", "no:scenarios")
    assert found["plugins"] == ["two_sessions_harness", "session_guard"]
    found = _report(pytester, "-p", "no:two_sessions_harness")
    assert found["plugins"] == []


def test_a_plugin_module_loaded_with_dash_p_as_well_is_not_registered_twice(
    pytester: pytest.Pytester,
) -> None:
    found = _report(pytester, "-p", "scenarios.guard.pytest_plugin", "--session-guard")
    assert "session_guard" not in found["plugins"]  # it is there under its module's name
    assert "scenarios.guard.runtime" in found["heavy"]


def test_a_bare_pytest_start_imports_only_the_light_hook_modules(tmp_path: Path) -> None:
    """Nothing but the harness's own hook modules: not SQLAlchemy, not even asyncio (which an
    early sweep plugin imported at the top, 15 % of a bare pytest's start)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert plugin_start.modules_added(tmp_path) == LIGHT_MODULES


def test_the_benchmark_writes_the_cost_of_each_setup(tmp_path: Path) -> None:
    output = tmp_path / "bench-plugin-start.json"
    report = plugin_start.measure_plugin_start(pairs=1, output=output)
    assert set(report["setups"]) == {"bare pytest", "this environment"}
    for setup in report["setups"].values():
        assert setup["best_cpu_s"]["with"] > 0
        assert setup["best_cpu_s"]["without"] > 0
        assert len(setup["pair_cost_cpu_pct"]) == 1
        # One pair: the best of each side is its only run, so the two figures agree.
        assert setup["cost_cpu_pct"] == pytest.approx(setup["median_pair_cost_cpu_pct"], abs=0.2)
    assert report["modules_added"] == LIGHT_MODULES
    assert report["own_work_ms"] > 0
    assert json.loads(output.read_text()) == report
    assert "| bare pytest |" in "\n".join(plugin_start.markdown(report))


@pytest.mark.parametrize("package", [scenarios.guard, scenarios.sweep])
def test_every_public_name_of_the_lazy_packages_resolves(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    code = (
        f"import {package.__name__} as p; "  # type: ignore[attr-defined]
        "print(sorted(n for n in p.__all__ if getattr(p, n, None) is None))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", names
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        package.nothing_here  # type: ignore[attr-defined]  # noqa: B018
