"""The bench's new figures are computed from what was measured: the busy-machine flag from the
load average, the profile's top entries from py-spy's samples, the per-case floor from a real
run. No figure here is compared with a time."""

from __future__ import annotations

import time

import pytest

from benchmarks.case_floor import case_floor_markdown, measure_case_ratios
from benchmarks.machine_load import judge_load, load_markdown, reference_loop_s, speed_markdown
from benchmarks.profiling import profile_markdown, top_functions
from benchmarks.stateful_speed import WallClock, measure_stateful_speed, where_the_time_went
from scenarios.databases import Database
from scenarios.scenario import load_pack

RAW_SAMPLES = """\
<module> (scenarios/__main__.py:3);main (scenarios/cli.py:10);send (reference_app/adapter.py:50) 6
<module> (scenarios/__main__.py:3);main (scenarios/cli.py:10) 2
process 7: "python -c spawn_main(pipe_handle=5) --multiprocessing-fork";search (x.py:1) 2
"""


def test_a_quiet_machine_is_not_flagged() -> None:
    judged = judge_load([0.3, 0.2, 0.1], [1.2, 0.5, 0.2], cpus=2)
    assert judged["busy"] is False
    assert "quiet enough" in load_markdown(judged)[0]


def test_a_busy_machine_is_flagged_with_the_reason() -> None:
    judged = judge_load([3.5, 2.0, 1.0], [1.0, 1.0, 1.0], cpus=2)
    assert judged["busy"] is True
    assert "3.5 at the start" in judged["why"][0]
    assert load_markdown(judged)[0].startswith("**The machine was busy")
    assert judge_load([0.1, 0.1, 0.1], [4.2, 1.0, 1.0], cpus=2)["busy"] is True


def test_the_machine_s_speed_is_the_best_time_of_a_fixed_loop_and_shown_with_the_figures() -> None:
    loop_s = reference_loop_s(repeats=1)
    assert loop_s > 0  # a time was taken; how long is the machine's business, not a test's
    assert f"took {loop_s} s" in speed_markdown(loop_s)[0]
    assert speed_markdown(None) == []


def test_the_profile_names_the_functions_with_the_most_samples() -> None:
    top = top_functions(RAW_SAMPLES)
    assert top["samples"] == 10
    assert top["self"][0] == {"function": "send (reference_app/adapter.py)", "percent": 60.0}
    inclusive = {row["function"]: row["percent"] for row in top["inclusive"]}
    assert inclusive["main (scenarios/cli.py)"] == 80.0
    assert top["by_process"] == {"matrix process": 80.0, "search workers": 20.0}
    page = profile_markdown({**top, "command": "py-spy record", "rate_hz": 100})
    assert any("send (reference_app/adapter.py)" in line for line in page)
    assert any("matrix process 80.0 %, search workers 20.0 %" in line for line in page)
    assert profile_markdown({"unavailable": "no py-spy"})[-2] == "Not measured: no py-spy."


async def test_each_case_has_a_harness_time_a_floor_and_their_ratio(
    sqlite_database: Database,
) -> None:
    pack = [s for s in load_pack(()) if s.name in {"first_message_new_session", "bad_input_empty"}]
    part = await measure_case_ratios(
        {"sqlite": sqlite_database}, wirings=("unit_of_work",), scenarios=pack
    )
    (cell,) = part["cells"]
    assert cell["cases"] == 2
    by_case = {c["case"].split("[")[0]: c for c in cell["all_cases"]}
    for case in by_case.values():
        assert case["harness_ms"] > 0
        assert case["floor_ms"] > 0
        # The ratio is of the unrounded times: equal to the shown ones' within rounding.
        shown = case["harness_ms"] / case["floor_ms"]
        assert abs(case["ratio"] - shown) <= 0.01 * shown + 0.01
    assert "| sqlite | unit_of_work | 2 |" in "\n".join(case_floor_markdown(part))


def test_overlapping_calls_of_one_kind_count_once_in_the_search_s_wall_clock() -> None:
    clock = WallClock()
    started = time.perf_counter()
    with clock.timing("send"), clock.timing("send"):  # a concurrent batch's two requests
        pass
    with clock.timing("read_state"):
        pass
    elapsed = time.perf_counter() - started
    assert set(clock.seconds) == {"send", "read_state"}
    assert clock.seconds["send"] + clock.seconds["read_state"] <= elapsed


def test_the_search_s_time_is_shared_out_and_its_ceiling_is_the_requests_alone() -> None:
    clock = WallClock()
    clock.seconds.update({"send": 6.0, "read_state": 2.0, "reset": 1.0})
    figures = where_the_time_went(clock, wall_s=10.0, cpu_s=5.0, steps=100)
    assert figures["percent_of_wall"] == {
        "app_requests": 60.0,
        "reads_after_steps": 20.0,
        "resets": 10.0,
        "search_and_machine": 10.0,
    }
    assert figures["cpu_ms_per_step"] == 50.0
    assert figures["ceiling_ten_step_examples_per_s"] == round(100 / 10 / 6.0, 1)


def test_a_measured_search_cell_says_where_its_time_went() -> None:
    report = measure_stateful_speed(
        wirings=("unit_of_work",), databases=("sqlite",), examples=3, output=None
    )
    (cell,) = report["cells"]
    assert cell["steps"] > 0, cell
    shares = cell["percent_of_wall"]
    assert shares["app_requests"] > 0
    assert shares["reads_after_steps"] > 0
    assert sum(shares.values()) == pytest.approx(100.0, abs=0.5)
    assert cell["cpu_ms_per_step"] > 0
    assert cell["ceiling_ten_step_examples_per_s"] > 0
