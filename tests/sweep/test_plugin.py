"""The sweep in a test suite: the `atomicity_sweep` fixture and marker, run by pytest itself."""

from __future__ import annotations

import pytest

TEST_FILE = """
import pytest

ORDER = 'POST /orders {"customer": "ada", "skus": ["tea", "milk"]}'

@pytest.mark.atomicity_sweep("tests.sweep.small_apps:clean_orders", ORDER)
def test_clean():
    pass

@pytest.mark.atomicity_sweep("tests.sweep.small_apps:line_repository_commits", ORDER)
def test_commits_in_repository():
    pass

def test_fixture(atomicity_sweep):
    result = atomicity_sweep("tests.sweep.small_apps:swallowing_orders", ORDER)
    assert not result.atomic
    assert result.requests[0].boundaries[0].status == 201
"""


def test_the_marker_fails_a_test_whose_request_is_not_atomic(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_orders=TEST_FILE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_commits_in_repository*",
            "*atomicity sweep of tests.sweep.small_apps:line_repository_commits on sqlite:*",
            "*NOT atomic POST /orders*partial_commit at 4S, 5C*",
        ]
    )
