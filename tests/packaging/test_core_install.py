"""The distribution a team installs, built from this checkout once (sdist, then the wheel from
the sdist, as `python -m build` does) and installed with the core only beside pytest in a fresh
virtualenv: the checks `nox -s package` runs in CI (tests/packaging/core_install.py), one test
each. About 40 s, most of it the build and the install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging import core_install

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """Not under pytest's basetemp, which a later pytest session may rotate away while this
    module still uses the venv in it."""
    with tempfile.TemporaryDirectory(prefix="core-install-") as name:
        yield Path(name)


@pytest.fixture(scope="module")
def dist(folder: Path) -> Path:
    out = folder / "dist"
    installer = ["--installer", "uv"] if shutil.which("uv") else []
    subprocess.run(
        [sys.executable, "-m", "build", *installer, "--outdir", str(out), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=core_install.COMMAND_TIMEOUT_S,
    )
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (built,) = dist.glob("*.whl")
    return built


def test_the_sdist_has_the_licence_and_the_changelog_and_no_examples(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    assert core_install.check_sdist(sdist) == ""


@pytest.fixture(scope="module")
def core_venv(wheel: Path, folder: Path) -> core_install.CoreVenv:
    (folder / "core").mkdir()
    return core_install.create_core_venv(wheel, folder / "core")


@pytest.mark.parametrize("check", list(core_install.WHEEL_CHECKS))
def test_the_wheel(wheel: Path, check: str) -> None:
    assert core_install.WHEEL_CHECKS[check](wheel) == ""


@pytest.mark.parametrize("check", list(core_install.VENV_CHECKS))
def test_on_the_core_install(core_venv: core_install.CoreVenv, check: str) -> None:
    assert core_install.run_venv_check(core_venv, check) == ""
