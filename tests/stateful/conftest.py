"""Settings and report folder for the stateful tests.

The profile comes from HARNESS_HYPOTHESIS_PROFILE (`quick`, or `ci` when CI is set); the
example database lives in .hypothesis/ at the repository root, where CI caches it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from scenarios.stateful import stateful_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def search_settings() -> settings:
    """The profile's settings, with the example database under the repository root."""
    return stateful_settings(root=REPO_ROOT)


@pytest.fixture(scope="session")
def fresh_search_settings(search_settings: settings) -> settings:
    """No example database: a buggy wiring must be found by the search, not replayed."""
    return settings(search_settings, database=None)


@pytest.fixture(scope="session")
def reports_dir() -> Path:
    return REPO_ROOT / "reports"
