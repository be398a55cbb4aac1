"""The built wheel as a team installs it: core only (SQLAlchemy, aiosqlite) beside pytest, in a
fresh virtualenv, used from a folder outside the checkout. Each check is one function that
returns what went wrong ("" when nothing did), so `nox -s package` prints them all and the test
suite (tests/packaging/test_core_install.py) asserts them one by one.

    python -m tests.packaging.core_install dist/two_sessions_harness-*.whl [dist/*.tar.gz]

Standard library only: it runs in a nox session that has not installed the project.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

OWN_TOP_LEVEL = {"scenarios", "reference_app"}
REFERENCE_EXTRA = "two-sessions-harness[reference]"
# What the extras bring; none may be importable in the core venv, or the checks prove nothing.
NOT_IN_THE_CORE = ("fastapi", "starlette", "pydantic", "httpx", "asyncpg", "hypothesis")
HEAVY = ("sqlalchemy", "aiosqlite", "httpx", "fastapi")
COMMAND_TIMEOUT_S = 300

# A team's suite that knows nothing of the harness.
UNRELATED_SUITE = {
    "test_arithmetic.py": """
        import pytest


        def test_addition():
            assert 1 + 1 == 2


        @pytest.fixture
        def numbers():
            return [3, 1, 2]


        def test_sorting(numbers):
            assert sorted(numbers) == [1, 2, 3]
        """,
}
# The plugin's promise, checked inside a real pytest start: nothing heavy until asked.
LIGHT_PLUGIN_TEST = f"""
    import sys


    def test_the_harness_plugin_imported_nothing_heavy(pytestconfig):
        assert pytestconfig.pluginmanager.has_plugin("two_sessions_harness")
        assert pytestconfig.pluginmanager.has_plugin("session_guard")
        assert [m for m in {HEAVY!r} if m in sys.modules] == []
    """
# The static check's input: one second session opened while the request's is in hand.
LINT_TREE = {
    "orders.py": """
        from sqlalchemy.orm import Session, sessionmaker

        SessionLocal = sessionmaker()


        def place_order(db: Session, sku: str) -> None:
            db.execute("select 1")
            with SessionLocal() as own:
                own.execute("insert into orders (sku) values (:sku)", {"sku": sku})
                own.commit()
            db.commit()
        """,
}
# The sweep door on an ASGI app, where httpx (the [reference] extra's) is not installed.
ASGI_APP = {
    "asgi_app.py": """
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})


        def make_app(url):
            return app
        """,
}


def write_tree(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def said(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@dataclass(frozen=True)
class CoreVenv:
    """A virtualenv with the wheel (no extras) and pytest, and a work folder outside the
    checkout, so nothing is imported from the repository."""

    python: Path
    work: Path

    def run(self, *args: str, cwd: Path | None = None) -> Ran:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
        env.pop("VIRTUAL_ENV", None)
        done = subprocess.run(
            [str(self.python), *args],
            cwd=cwd or self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        return Ran(done.returncode, done.stdout, done.stderr)


def create_core_venv(wheel: Path, folder: Path) -> CoreVenv:
    """uv when it is there (fast, cached), else venv and pip."""
    venv = folder / "venv"
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--seed", str(venv)], check=True, timeout=120)
        python = venv / "bin" / "python"
        install = [uv, "pip", "install", "-q", "--python", str(python)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        python = venv / "bin" / "python"
        install = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*install, str(wheel), "pytest"], check=True, timeout=COMMAND_TIMEOUT_S)
    work = folder / "work"
    work.mkdir()
    return CoreVenv(python, work)


# -- the wheel itself --------------------------------------------------------------------------


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def check_top_level_names(wheel: Path) -> str:
    top = {name.split("/")[0] for name in wheel_names(wheel)}
    own = {name for name in top if not name.endswith(".dist-info")}
    return "" if own == OWN_TOP_LEVEL else f"top-level names {sorted(own)}, not {OWN_TOP_LEVEL}"


def check_shipped_files(wheel: Path) -> str:
    names = wheel_names(wheel)
    missing = [
        wanted
        for wanted in ("scenarios/pack/README.md", "scenarios/py.typed", "/licenses/LICENSE")
        if not any(name == wanted or name.endswith(wanted) for name in names)
    ]
    return f"not in the wheel: {missing}" if missing else ""


def check_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (path,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(path).decode("utf-8"))
    problems = []
    if metadata.get("License-Expression") != "MIT":
        problems.append(f"License-Expression {metadata.get('License-Expression')!r}")
    if not metadata.get_all("Classifier"):
        problems.append("no classifiers")
    core = sorted(
        r.split(";")[0].split(">")[0].split("[")[0].strip()
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    )
    if core != ["aiosqlite", "sqlalchemy"]:
        problems.append(f"core requirements {core}")
    return "; ".join(problems)


def check_sdist(sdist: Path) -> str:
    """What the wheel is built from, the licence and the changelog; not `examples/`."""
    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    wanted = {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "scenarios/pack/README.md"}
    problems = [f"missing {sorted(wanted - names)}"] if wanted - names else []
    if any(name.startswith("examples/") for name in names):
        problems.append("examples/ is in the sdist")
    return "; ".join(problems)


# -- the core install, used -----------------------------------------------------------------


def check_core_only(venv: CoreVenv) -> str:
    code = (
        "import importlib.util as u; "
        f"print([m for m in {NOT_IN_THE_CORE!r} if u.find_spec(m) is not None])"
    )
    ran = venv.run("-c", code)
    return "" if ran.code == 0 and ran.out.strip() == "[]" else f"not a core venv: {ran.said()}"


def _pytest(venv: CoreVenv, folder: Path, *args: str) -> Ran:
    return venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", *args, cwd=folder)


def check_unrelated_suite(venv: CoreVenv, *flags: str) -> str:
    folder = write_tree(venv.work / f"suite{'-'.join(('', *flags))}", UNRELATED_SUITE)
    ran = _pytest(venv, folder, *flags)
    if ran.code != 0 or "2 passed" not in ran.out:
        return f"pytest {' '.join(flags)} on an unrelated suite: {ran.said()}"
    if flags and "session guard" not in ran.out:
        return f"pytest {' '.join(flags)}: no session guard summary: {ran.said()}"
    return ""


def check_plugin_is_light(venv: CoreVenv) -> str:
    folder = write_tree(venv.work / "light", {"test_light.py": LIGHT_PLUGIN_TEST})
    ran = _pytest(venv, folder)
    return "" if ran.code == 0 and "1 passed" in ran.out else f"plugin not light: {ran.said()}"


def check_static_check(venv: CoreVenv) -> str:
    folder = write_tree(venv.work / "lint-tree", LINT_TREE)
    ran = venv.run("-m", "scenarios.lint", ".", cwd=folder)
    if ran.code != 1 or "orders.py:8: SCN001" not in ran.out:
        return f"python -m scenarios.lint on a buggy tree: {ran.said()}"
    (folder / "orders.py").unlink()
    write_tree(folder, {"clean.py": "def add(a: int, b: int) -> int:\n    return a + b\n"})
    ran = venv.run("-m", "scenarios.lint", ".", cwd=folder)
    return "" if ran.code == 0 else f"python -m scenarios.lint on a clean tree: {ran.said()}"


def _one_line_naming(ran: Ran, *words: str) -> bool:
    lines = ran.err.strip().splitlines()
    return ran.code == 2 and len(lines) == 1 and all(w in lines[0] for w in words)


def check_run_names_the_extra(venv: CoreVenv, *args: str) -> str:
    ran = venv.run("-m", "scenarios", "run", *args)
    if _one_line_naming(ran, REFERENCE_EXTRA) and not ran.out.strip():
        return ""
    return f"python -m scenarios run {' '.join(args)}: {ran.said()}"


def check_sweep_of_asgi_names_httpx(venv: CoreVenv) -> str:
    folder = write_tree(venv.work / "asgi", ASGI_APP)
    ran = venv.run(
        "-m", "scenarios", "sweep", "--app-factory", "asgi_app:make_app", "--db", "sqlite",
        "--request", "POST /ping", "--reports", str(folder / "reports"), cwd=folder,
    )  # fmt: skip
    return "" if _one_line_naming(ran, "httpx") else f"sweep of an ASGI app: {ran.said()}"


# name: (check, its arguments after the venv)
VENV_CHECKS: dict[str, tuple[Callable[..., str], tuple[str, ...]]] = {
    "the venv has the core only": (check_core_only, ()),
    "an unrelated suite passes": (check_unrelated_suite, ()),
    "... with --session-guard": (check_unrelated_suite, ("--session-guard",)),
    "... with --session-guard=strict": (check_unrelated_suite, ("--session-guard=strict",)),
    "the pytest plugin imports nothing heavy": (check_plugin_is_light, ()),
    "python -m scenarios.lint runs": (check_static_check, ()),
    "python -m scenarios run names the extra": (check_run_names_the_extra, ()),
    "... --target reference_app.adapter:TARGET too": (
        check_run_names_the_extra,
        ("--target", "reference_app.adapter:TARGET"),
    ),
    "the sweep of an ASGI app names httpx": (check_sweep_of_asgi_names_httpx, ()),
}
WHEEL_CHECKS: dict[str, Callable[[Path], str]] = {
    "only the harness's own top-level names": check_top_level_names,
    "the pack README, py.typed and LICENSE ship": check_shipped_files,
    "licence, classifiers, core requirements": check_metadata,
}


def run_venv_check(venv: CoreVenv, name: str) -> str:
    check, args = VENV_CHECKS[name]
    return check(venv, *args)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tests.packaging.core_install WHEEL [SDIST]`: every check, one line each."""
    files = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    wheels = [f for f in files if f.suffix == ".whl" and f.is_file()]
    sdists = [f for f in files if f.name.endswith(".tar.gz") and f.is_file()]
    if len(wheels) != 1 or len(sdists) > 1 or len(files) != len(wheels) + len(sdists):
        print("usage: python -m tests.packaging.core_install WHEEL [SDIST]", file=sys.stderr)
        return 2
    wheel = wheels[0].resolve()
    results = [(name, check(wheel)) for name, check in WHEEL_CHECKS.items()]
    results += [("the sdist: licence, changelog, no examples/", check_sdist(s)) for s in sdists]
    with tempfile.TemporaryDirectory(prefix="core-install-") as folder:
        venv = create_core_venv(wheel, Path(folder))
        results += [(name, run_venv_check(venv, name)) for name in VENV_CHECKS]
    for name, problem in results:
        print(f"FAIL {name}\n{problem}" if problem else f"ok   {name}")
    failed = sum(bool(problem) for _, problem in results)
    print(f"{len(results) - failed} of {len(results)} checks passed on {wheel.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
