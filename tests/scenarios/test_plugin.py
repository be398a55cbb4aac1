"""The pytest plugin: one item per scenario x interleaving x wiring x database, selectable, and a
failing item that shows steps, expectation, observation and rows."""

from __future__ import annotations

import pytest

WRONG_TARGET = '''
from reference_app.adapter import ReferenceTargetFactory


class ExpectsOkEverywhere(ReferenceTargetFactory):
    """As a ported app's adapter would: it expects no bug anywhere."""

    def expected_outcome(self, scenario, interleaving, wiring, database):
        return "ok"


TARGET = ExpectsOkEverywhere()
'''


def test_the_plugin_collects_selectable_items_per_wiring_and_database(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_subprocess(
        "--scenario-target=reference_app.adapter:TARGET",
        "--scenario-db=sqlite",
        "--scenario-wiring=two_sessions,unit_of_work",
        "--collect-only",
        "-q",
    )
    result.stdout.fnmatch_lines(
        [
            "scenarios::two_sessions-sqlite-first_message_new_session?sequence?",
            "scenarios::unit_of_work-sqlite-interleaved_same_session?"
            "a@after_user_message a b@after_user_message b?",
        ]
    )
    assert "postgresql" not in result.stdout.str()


def test_a_failing_item_shows_steps_expected_observed_and_rows(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(wrong_target=WRONG_TARGET)
    result = pytester.runpytest_subprocess(
        "--scenario-target=wrong_target:TARGET",
        "--scenario-db=sqlite",
        "--scenario-wiring=two_sessions",
        "-k",
        "message_to_existing_session",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*scenario message_to_existing_session (message_to_existing_session.toml)*",
            "*wiring two_sessions on sqlite*",
            "*expected:  ok*",
            "*observed:  lost_write*",
            "*acknowledged (HTTP 201) but its user message*",
            "*guard:     2 sessions in one request; the second opened at "
            "*reference_app/wirings/two_sessions.py:*",
            "*rows a fresh connection found:*",
            "*user: Earlier question*",
        ]
    )


def test_an_unknown_wiring_is_bad_input_exit_two(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--scenario-target=reference_app.adapter:TARGET", "--scenario-wiring=three_sessions"
    )
    assert result.ret == 2  # bad input, as for every command of the harness (issue 20)
    assert "--scenario-wiring='three_sessions': unknown" in result.stderr.str()
