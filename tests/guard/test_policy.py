"""Strictness by rule and acknowledgements, without a database: what an entry matches, what it
refuses, and which entries are reported unused."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.guard import GuardFinding, Kind
from scenarios.guard.policy import DATA_RULES, Policy, PolicyError, parse_allowance, parse_rules


def finding(
    kind: Kind, site: str | None = "app/repo.py:12", route: str | None = None
) -> GuardFinding:
    return GuardFinding(kind=kind, unit="POST /notes", message="...", site=site, route=route)


def test_the_default_strict_rules_are_the_ones_that_cost_data() -> None:
    assert parse_rules("", origin="ini") == DATA_RULES
    assert Kind.LEAKED_CONNECTION not in DATA_RULES
    assert Kind.EXTRA_CONNECTION not in DATA_RULES
    assert {Kind.ACKNOWLEDGED_NOT_SAVED, Kind.EXTRA_SESSION, Kind.SPLIT_COMMIT} <= DATA_RULES
    assert Kind.LEAKED_CONNECTION in parse_rules("all", origin="ini")
    assert parse_rules("lost_write, extra_session", origin="ini") == {
        Kind.LOST_WRITE,
        Kind.EXTRA_SESSION,
    }


@pytest.mark.parametrize(
    ("entry", "matched", "missed"),
    [
        ("extra_session -- why", finding(Kind.EXTRA_SESSION), finding(Kind.LOST_WRITE)),
        ("repo.py:12 -- why", finding(Kind.LOST_WRITE), finding(Kind.LOST_WRITE, "app/repo.py:13")),
        (
            "app/repo.py:12 -- why",
            finding(Kind.LOST_WRITE, "/srv/app/repo.py:12"),
            finding(Kind.LOST_WRITE, "app/myrepo.py:12"),
        ),
        (
            "split_commit DELETE /heroes -- why",
            finding(Kind.SPLIT_COMMIT, route="DELETE /heroes"),
            finding(Kind.EXTRA_SESSION, route="DELETE /heroes"),
        ),
    ],
)
def test_an_entry_matches_its_rule_site_or_route_and_nothing_else(
    entry: str, matched: GuardFinding, missed: GuardFinding
) -> None:
    allowance = parse_allowance(entry, origin="ini")
    assert allowance.matches(matched)
    assert not allowance.matches(missed)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("extra_session", "has no reason"),
        ("extra_session --  ", "has no reason"),
        ("somewhere -- why", "is neither a rule, a path:line nor a route"),
    ],
)
def test_a_bad_entry_is_refused_with_what_was_wrong(entry: str, error: str) -> None:
    with pytest.raises(PolicyError, match=error):
        parse_allowance(entry, origin="pytest.ini session_guard_allow")


def test_unused_entries_and_markers_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repo.py").write_text(
        "own = maker(\n"
        "    bind=engine,  # scenarios: allow-session -- the audit log\n"
        ")\n"
        "other = maker()  # scenarios: allow-session -- never reached in this run\n"
    )
    policy = Policy(allowances=(parse_allowance("POST /old -- gone", origin="ini"),))
    assert policy.allowed_by(finding(Kind.EXTRA_SESSION, site="repo.py:1")) is not None
    assert policy.allowed_by(finding(Kind.EXTRA_SESSION, site="repo.py:9")) is None
    assert sorted(a.describe() for a in policy.unused()) == [
        "POST /old -- gone",
        "repo.py:4 -- never reached in this run",
    ]
