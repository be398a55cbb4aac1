"""Whole matrices under pytest-xdist: one at a time across the run's workers, and the reference
app's matrix run once per test run, whichever worker needs it first.

The reference app's whole matrix holds about 55 Postgres connections at its peak (both
databases, every wiring's scratch database, apps, readers, the janitor): two at once, in two
workers, overran a server's default max_connections of 100 ("too many clients already"). The
zoo's takes its turn too; the support desk's and the module-level app's hold under 10 and do not
wait. Without xdist nothing waits.
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
POLL_S = 0.5


class WholeMatrixWaitTooLong(RuntimeError):
    """Another worker's whole matrix held the turn for longer than TURN_BOUND_S."""


def worker_id() -> str | None:
    """The pytest-xdist worker this process is (gw0, gw1, ...), or None without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run shares (the base temp folder of the controller);
    without xdist, this run's own base temp folder, so separate runs never wait for each other."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id() else base


@asynccontextmanager
async def whole_matrix_turn(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Path]:
    """Hold the run's one turn for a whole matrix (an exclusive lock on a file in the shared
    folder, released however the block ends); yields the shared folder."""
    folder = shared_dir(tmp_path_factory)
    deadline = time.monotonic() + TURN_BOUND_S
    lock = os.open(folder / "whole-matrix.lock", os.O_RDWR | os.O_CREAT, 0o600)
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
    async with whole_matrix_turn(tmp_path_factory) as folder:
        kept = folder / f"{name}.pickle"
        if kept.exists():
            found: MatrixRun = pickle.loads(kept.read_bytes())
            return found
        result = await run()
        kept.write_bytes(pickle.dumps(result))
        return result
