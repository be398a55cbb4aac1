"""The matrix's search workers are forked from one fork server per process, which may have been
started by an earlier matrix, before a test changed the environment: a worker still has the
environment of the parent when its pool was made, as a spawned worker did."""

from __future__ import annotations

import os
import time

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


def _pid_after_a_while() -> int:
    time.sleep(0.2)  # long enough that each task finds the others' workers busy
    return os.getpid()


def test_workers_sets_how_many_processes_run_the_searches_never_more_than_searches() -> None:
    with search_process_pool(6, workers=3) as pool:
        pids = {f.result(timeout=60) for f in [pool.submit(_pid_after_a_while) for _ in range(6)]}
    assert len(pids) == 3
    with search_process_pool(2, workers=5) as pool:
        pids = {f.result(timeout=60) for f in [pool.submit(_pid_after_a_while) for _ in range(4)]}
    assert len(pids) == 2
