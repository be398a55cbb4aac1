"""`python -m scenarios routes`: exit 0 clean, 1 with findings (reports written), 2 on bad
input with one line naming what was wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.cli import main

BASE = ["routes", "--db", "sqlite", "--max-examples", "3", "--time-budget", "30"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["routes", "--db", "sqlite"], "--app-factory MODULE:FUNC is required"),
        (["routes", "--app-factory", "x:y", "--db", "oracle"], "--db must be one of"),
        ([*BASE, "--app-factory", "no_such_module:f"], "--app-factory 'no_such_module:f'"),
        (
            [*BASE, "--app-factory", "tests.routes.small_apps:shop_clean", "--header", "nocolon"],
            "expected 'Name: value'",
        ),
        (
            [*BASE, "--app-factory", "tests.routes.small_apps:shop_clean", "--header", "a b: c"],
            "not a valid header name",
        ),
        (
            [*BASE, "--app-factory", "tests.routes.small_apps:shop_clean", "--max-examples", "0"],
            "--max-examples must be at least 1",
        ),
        (
            [
                *BASE,
                "--app-factory",
                "tests.routes.small_apps:shop_clean",
                "--schema-path",
                "/nothing.json",
            ],
            "no OpenAPI schema found at /nothing.json",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_secret_header_value_is_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--app-factory", "x:y", "--header", "Authorization Bearer s3cret"]) == 2
    assert "s3cret" not in capsys.readouterr().err


@pytest.mark.slow(reason="runs the route door's Schemathesis generation, through the CLI")
def test_findings_exit_1_and_are_in_the_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    factory = "tests.routes.small_apps:shop_lines_own_session"
    assert main([*BASE, "--app-factory", factory, "--reports", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FINDINGS   POST /orders/{order_id}/lines: acknowledged_not_saved, two_writers" in out
    document = json.loads((tmp_path / "routes.json").read_text())
    (run,) = document["runs"]
    assert run["app_factory"] == factory
    assert not run["clean"]
    lines = next(r for r in run["routes"] if r["route"] == "POST /orders/{order_id}/lines")
    assert "two_writers" in lines["problems"]
    assert "POST /orders/{order_id}/lines" in (tmp_path / "routes.md").read_text()
    assert "Every write route" in (tmp_path / "index.html").read_text()


@pytest.mark.slow(reason="runs the route door's Schemathesis generation, through the CLI")
def test_a_clean_app_exits_0(tmp_path: Path) -> None:
    factory = "tests.routes.small_apps:shop_clean"
    assert main([*BASE, "--app-factory", factory, "--reports", str(tmp_path)]) == 0
