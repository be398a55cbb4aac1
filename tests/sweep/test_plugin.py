"""The sweep in a test suite: the `atomicity_sweep` fixture and marker, run by pytest itself."""

from __future__ import annotations

import pytest

from scenarios.reporting import read_sections

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


def test_each_sweep_joins_the_reports_folder_the_option_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_orders=TEST_FILE)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "--sweep-reports", "out"
    )
    result.assert_outcomes(passed=2, failed=1)
    (section,) = read_sections(pytester.path / "out" / "index.html")
    assert section.name == "sweep"
    rows = {(cell.wiring.rsplit(":")[1], cell.step): cell.outcome for cell in section.cells}
    assert rows[("clean_orders", "no fault")] == "ok"
    assert rows[("line_repository_commits", "4S")] == "partial_commit"
    assert rows[("swallowing_orders", "1S")] == "lost_write"
    assert (pytester.path / "out" / "sweep.json").is_file()
