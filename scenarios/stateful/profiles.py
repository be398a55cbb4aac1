"""Hypothesis settings profiles: quick locally, thorough under CI, and the matrix's small one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

PROFILE_VARIABLE = "HARNESS_HYPOTHESIS_PROFILE"
DATABASE_VARIABLE = "HARNESS_HYPOTHESIS_DB"
PROFILES = ("quick", "ci")
STEP_COUNT = 10

_COMMON: dict[str, Any] = {
    "stateful_step_count": STEP_COUNT,
    # Database round trips vary with the machine; a per-example deadline would only flake.
    "deadline": None,
    "derandomize": False,
    # Each kind of failure is shrunk on its own (one exception type per outcome), so a timing-
    # dependent race cannot hide a deterministic partial commit, and both are reported.
    "report_multiple_bugs": True,
    # The explain phase replays variations only to annotate the example: time we do not spend.
    "phases": tuple(p for p in Phase if p is not Phase.explain),
}
settings.register_profile(
    "harness-quick",
    parent=settings.get_profile("default"),
    max_examples=25,
    print_blob=False,
    **_COMMON,
)
settings.register_profile(
    "harness-ci",
    parent=settings.get_profile("default"),
    max_examples=200,
    print_blob=True,
    **_COMMON,
)


def profile_name(profile: str | None = None) -> str:
    """The profile to use: the argument, else $HARNESS_HYPOTHESIS_PROFILE, else `ci` under CI."""
    name = (
        profile or os.environ.get(PROFILE_VARIABLE) or ("ci" if os.environ.get("CI") else "quick")
    )
    if name not in PROFILES:
        raise ValueError(
            f"unknown stateful profile {name!r} (from {PROFILE_VARIABLE}?); "
            f"choose one of: {', '.join(PROFILES)}"
        )
    return name


def example_database_dir(root: Path | None = None) -> Path:
    """Where failing examples are kept: $HARNESS_HYPOTHESIS_DB, else ROOT/.hypothesis/examples.

    CI caches `.hypothesis/` so a failure found in one run is replayed first in the next.
    """
    configured = os.environ.get(DATABASE_VARIABLE)
    if configured:
        return Path(configured)
    return (root or Path.cwd()) / ".hypothesis" / "examples"


def stateful_settings(
    profile: str | None = None, *, root: Path | None = None, **overrides: Any
) -> settings:
    """Settings for a stateful search, from our own profiles `harness-quick` / `harness-ci`.

    Hypothesis loads its built-in `ci` profile when CI is set (derandomized, no example
    database, too_slow suppressed). We deliberately neither shadow nor inherit it: our profiles
    start from Hypothesis's `default` and set every field that matters, because the issue asks
    for an example database CI can cache, and a random (not derandomized) search explores new
    histories on every CI run while replaying cached failures first. From the built-in we keep
    `print_blob` (a CI failure reproduces locally with `@reproduce_failure`) and no deadline.
    Other Hypothesis tests in the repo keep whatever profile they load; nothing global changes.
    """
    name = profile_name(profile)
    options: dict[str, Any] = {
        "database": DirectoryBasedExampleDatabase(str(example_database_dir(root)))
    }
    options.update(overrides)
    return settings(settings.get_profile(f"harness-{name}"), **options)


def matrix_settings(max_examples: int) -> settings:
    """A small, derandomized search: the matrix is a reproducible report, the tests explore.

    It stops at the first failure and shrinks toward the smallest of any kind (buggy wirings
    fail at once, and every replay on SQLite's two_sessions waits out a lock)."""
    return settings(
        settings.get_profile("harness-quick"),
        max_examples=max_examples,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
    )
