"""Settings profiles: chosen by HARNESS_HYPOTHESIS_PROFILE, `ci` under CI, thorough there."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis.database import DirectoryBasedExampleDatabase

from scenarios.stateful import PROFILE_VARIABLE, profile_name, stateful_settings


def test_quick_is_the_local_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_VARIABLE, raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert profile_name() == "quick"


def test_ci_is_the_default_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_VARIABLE, raising=False)
    monkeypatch.setenv("CI", "true")
    assert profile_name() == "ci"


def test_the_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv(PROFILE_VARIABLE, "quick")
    assert profile_name() == "quick"


def test_an_unknown_profile_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_VARIABLE, "thorough")
    with pytest.raises(ValueError, match="quick, ci"):
        profile_name()


def test_the_ci_profile_is_thorough_random_and_keeps_failures_where_ci_caches_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_HYPOTHESIS_DB", raising=False)
    ci = stateful_settings("ci", root=tmp_path)
    assert ci.max_examples >= 200
    assert ci.stateful_step_count == 10
    assert ci.deadline is None
    # Unlike Hypothesis's built-in `ci` profile: random, with an example database.
    assert ci.derandomize is False
    assert isinstance(ci.database, DirectoryBasedExampleDatabase)
    assert Path(ci.database.path) == tmp_path / ".hypothesis" / "examples"


def test_the_quick_profile_is_small() -> None:
    assert stateful_settings("quick").max_examples < stateful_settings("ci").max_examples
