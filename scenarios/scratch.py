"""What every scratch database shares, whichever server holds it: the record a run passes
around (`Database`), the error a server that cannot be reached raises (`ServerUnavailable`, which
a run turns into skipped cells, or a failure under CI), and the owner mark that lets a later run
remove the databases of a run that was killed before its cleanup.

Kept apart from scenarios.databases so that each server's module (scenarios.mariadb) can use it
without importing the module that picks between them.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class ServerUnavailable(RuntimeError):
    """A database server could not be reached; the message says how to point at one."""


def server_required() -> bool:
    """Under CI (`CI` set) an unreachable server is an error, not a skip."""
    return bool(os.environ.get("CI"))


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite", "postgresql" or "mariadb"
    url: str  # SQLAlchemy URL, password included: never print it, print `display_url`
    server_version: str = ""  # "PostgreSQL 18.6", "SQLite 3.40.1": recorded in every report cell

    @property
    def display_url(self) -> str:
        return mask_password(self.url)


def mask_password(url: str | URL) -> str:
    """The URL with its password replaced by ***; anything unparsable is hidden whole."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable database URL>"


# -- who owns a scratch database: a run marks each one, a later run removes orphans -----------

OWNER_MARK = "two-sessions-harness scratch"
_OWNER = re.compile(rf"^{OWNER_MARK}: pid=(\d+) host=(\S+) started=(\d+(?:\.\d+)?)$")


def owner_mark() -> str:
    """What a scratch database says about the run that made it (a COMMENT ON DATABASE)."""
    return f"{OWNER_MARK}: pid={os.getpid()} host={socket.gethostname()} started={time.time():.0f}"


def _process_start(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch), from /proc; None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = float(stat.rsplit(")", 1)[1].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def process_running(pid: int, since: float | None = None) -> bool:
    """Whether `pid` is alive on this host (and, given `since`, started no later: a pid the
    system reused for a newer process does not own an older database)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    if since is None:
        return True
    started = _process_start(pid)
    return started is None or started <= since + 2


def orphaned(comment: str | None) -> bool:
    """A marked scratch database whose run, on this host, is no longer running. An unmarked
    one (another tool's, or an older harness's still running) is never judged an orphan."""
    match = _OWNER.match(comment or "")
    if match is None or match.group(2) != socket.gethostname():
        return False
    return not process_running(int(match.group(1)), float(match.group(3)))


def say_removed(kind: str, names: list[str]) -> None:
    if names:
        print(
            f"removed {len(names)} {kind} scratch database(s) left by runs no longer running: "
            + ", ".join(names),
            file=sys.stderr,
        )
