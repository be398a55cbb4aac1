"""The matrix's search workers are forked from one fork server per process, which may have been
started by an earlier matrix, before a test changed the environment: a worker still has the
environment of the parent when its pool was made, as a spawned worker did."""

from __future__ import annotations

import os

import pytest

from scenarios.stateful.matrix_case import search_process_pool

MARK = "HARNESS_TEST_SEARCH_WORKER_MARK"


def _read(name: str) -> str | None:
    return os.environ.get(name)


def test_a_worker_has_the_environment_of_its_pool_not_of_the_fork_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MARK, raising=False)
    with search_process_pool(1) as pool:  # starts the process's fork server, if nothing did
        assert pool.submit(_read, MARK).result(timeout=60) is None
    monkeypatch.setenv(MARK, "set after the fork server started")
    with search_process_pool(1) as pool:
        assert pool.submit(_read, MARK).result(timeout=60) == "set after the fork server started"
