"""The matrix's search workers are forked from one fork server per process, which may have been
started by an earlier matrix, before a test changed the environment: a worker still has the
environment of the parent when its pool was made, as a spawned worker did."""

from __future__ import annotations

import multiprocessing
import os
import threading

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


def _pid_once_all_arrive(arrived: threading.Barrier) -> int:
    # Returns only once `parties` tasks wait at once: each in a process of its own.
    arrived.wait(timeout=60)
    return os.getpid()


def test_workers_sets_how_many_processes_run_the_searches_never_more_than_searches() -> None:
    with multiprocessing.Manager() as manager:
        three = manager.Barrier(3)
        with search_process_pool(6, workers=3) as pool:
            futures = [pool.submit(_pid_once_all_arrive, three) for _ in range(6)]
            pids = {f.result(timeout=60) for f in futures}
        assert len(pids) == 3
        two = manager.Barrier(2)
        with search_process_pool(2, workers=5) as pool:
            futures = [pool.submit(_pid_once_all_arrive, two) for _ in range(4)]
            pids = {f.result(timeout=60) for f in futures}
        assert len(pids) == 2
