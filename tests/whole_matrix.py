"""Whole matrices under pytest-xdist: each run once per test run, by whichever worker needs it
first, while a worker that needs the same one waits for its result.

Two different whole matrices may run at once, one in each worker: each opens at most
OPEN_TARGETS targets at a time on each database. Unbounded, the reference app's held 73
Postgres connections at its peak (every wiring's shards side by side, each with its scratch
database, app, readers and janitor), and two at once overran a server's default
max_connections of 100 ("too many clients already"); bounded, it peaks at 30 and the zoo's at
36, in about the same time (docs/benchmarks.md). Before the bound, whole matrices took one
turn across the workers, and the other worker sat idle for as long as the zoo's ran (604 of
the suite's 785 s on 2026-12-06). The support desk's and the module-level app's hold under 10
and are not shared. Without xdist nothing waits.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pickle
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from scenarios.matrix import MatrixRun

# The longest a worker waits for the other's matrix (the zoo's takes minutes on a loaded machine).
TURN_BOUND_S = 1800.0
# Targets open at once on each database, for each whole matrix (scenarios.matrix.run_matrix).
OPEN_TARGETS = 4
POLL_S = 0.5


class WholeMatrixWaitTooLong(RuntimeError):
    """Another worker ran the same whole matrix for longer than TURN_BOUND_S."""


def worker_id() -> str | None:
    """The pytest-xdist worker this process is (gw0, gw1, ...), or None without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run shares (the base temp folder of the controller);
    without xdist, this run's own base temp folder, so separate runs never wait for each other."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id() else base


@asynccontextmanager
async def whole_matrix_turn(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> AsyncIterator[Path]:
    """Hold the run's turn for the whole matrix `name` (an exclusive lock on a file of that name
    in the shared folder, released however the block ends); yields the shared folder."""
    folder = shared_dir(tmp_path_factory)
    deadline = time.monotonic() + TURN_BOUND_S
    lock = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WholeMatrixWaitTooLong(
                        f"another pytest-xdist worker ran a whole matrix for over "
                        f"{TURN_BOUND_S:.0f} s"
                    ) from None
                await asyncio.sleep(POLL_S)
        yield folder
    finally:
        os.close(lock)  # releases the lock


async def run_once_per_test_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, run: Callable[[], Awaitable[MatrixRun]]
) -> MatrixRun:
    """`run()` in this run's turn, or, when another worker of the run already ran it, its result
    as that worker left it (pickled in the shared folder)."""
    async with whole_matrix_turn(tmp_path_factory, name) as folder:
        kept = folder / f"{name}.pickle"
        if kept.exists():
            found: MatrixRun = pickle.loads(kept.read_bytes())
            return found
        result = await run()
        kept.write_bytes(pickle.dumps(result))
        return result
