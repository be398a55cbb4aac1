"""The scenario file format: the pack loads, and every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.scenario import Expect, Mode, ScenarioError, load_pack, load_scenario

MINIMAL = """
format = 1
guards = "Something must hold."

[[request]]
session = "chat"
content = "hi"
"""


def write(tmp_path: Path, text: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_pack_has_at_least_fifteen_scenarios_each_saying_what_it_guards_against() -> None:
    pack = load_pack()
    assert len(pack) >= 15
    for scenario in pack:
        assert scenario.guards.endswith("."), scenario.name
        assert len(scenario.guards.split(". ")) == 1, f"{scenario.name}: one sentence"


def test_the_pack_covers_the_cases_the_issue_lists() -> None:
    names = {s.name for s in load_pack()}
    for point in ("after_user_message", "after_agent_context", "after_reply", "at_commit"):
        assert f"fault_{point}" in names
    assert {
        "first_message_new_session",
        "multi_turn_conversation",
        "separate_sessions_isolated",
        "message_to_existing_session",
        "concurrent_different_sessions",
        "concurrent_same_session",
        "read_back_at_once",
    } <= names
    assert sum(name.startswith("bad_input_") for name in names) >= 6


def test_a_minimal_scenario_loads_with_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, MINIMAL))
    assert scenario.name == "case"
    assert scenario.mode is Mode.SEQUENCE
    (request,) = scenario.requests
    assert request.name == "r1"
    assert request.expect is Expect.SUCCESS
    assert [i.id for i in scenario.interleavings()] == ["sequence"]


def test_interleave_mode_enumerates_every_order_that_keeps_each_request_in_order(
    tmp_path: Path,
) -> None:
    text = """
format = 1
guards = "x."
mode = "interleave"
[[request]]
name = "a"
session = "s"
content = "a"
pause_at = ["after_user_message"]
[[request]]
name = "b"
session = "s"
content = "b"
pause_at = ["after_user_message"]
"""
    orders = [i.steps for i in load_scenario(write(tmp_path, text)).interleavings()]
    assert len(orders) == 6 == len(set(orders))
    for order in orders:
        assert order.index("a@after_user_message") < order.index("a")
        assert order.index("b@after_user_message") < order.index("b")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("format = 1", "format = 2"), "format 2 is not supported"),
        (lambda t: t.replace('guards = "Something must hold."', 'guards = ""'), "one sentence"),
        (lambda t: t + 'colour = "red"\n', "unknown key(s) colour"),
        (lambda t: t + 'fault = "after_lunch"\n', "'fault' must be one of"),
        (lambda t: t + 'expect = "maybe"\n', "'expect' must be one of"),
        (lambda t: t + 'pause_at = ["after_reply"]\n', 'need mode = "interleave"'),
        (lambda t: t + 'expect = "rejected"\n', "'rejected_field' is required"),
        (lambda t: t + "repeat = 0\n", "'repeat' must be at least 1"),
        (lambda t: t + 'body_hex = "zz"\n', "hexadecimal"),
        (lambda t: t.replace('session = "chat"', "session = 3"), "'session' must be str"),
        (
            lambda t: t.replace("[[request]]", 'requires = ["teleport"]\n[[request]]'),
            "unknown capability",
        ),
        (lambda t: t + '[[request]]\nsession = "chat"\ncontent = "hi"\n', "distinct content"),
        (lambda t: 'format = 1\nguards = "x."\n', "at least one [[request]]"),
        (lambda t: t + "[[[", "not valid TOML"),
    ],
)
def test_a_malformed_scenario_is_rejected_naming_the_file_and_the_key(
    tmp_path: Path, change: object, message: str
) -> None:
    assert callable(change)
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_permutation_must_name_each_step_once_in_each_requests_order(tmp_path: Path) -> None:
    text = """
format = 1
guards = "x."
mode = "interleave"
permutations = [["a", "a@after_reply"]]
[[request]]
name = "a"
session = "s"
content = "a"
pause_at = ["after_reply"]
"""
    with pytest.raises(ScenarioError, match="out of order"):
        load_scenario(write(tmp_path, text))


def test_loading_a_scenario_runs_no_code(tmp_path: Path) -> None:
    """TOML is data: a string that looks like code stays a string."""
    text = MINIMAL.replace('content = "hi"', "content = \"__import__('os').system('false')\"")
    (request,) = load_scenario(write(tmp_path, text)).requests
    assert request.content == "__import__('os').system('false')"


def test_two_files_with_the_same_name_in_a_pack_are_refused(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    write(tmp_path / "one", MINIMAL)
    write(tmp_path / "two", MINIMAL)
    with pytest.raises(ScenarioError, match="two scenarios are named 'case'"):
        load_pack([tmp_path / "one", tmp_path / "two"])
