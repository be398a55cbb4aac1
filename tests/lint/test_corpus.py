"""The static check on its corpus: small apps, each the shape of a real public thread or
codebase (named in a comment at the top of its files), as a buggy twin and a clean one.

Every buggy folder must be flagged exactly at the lines marked `# expect: CODE`, and every
clean folder must be silent. Each folder is checked as a project of its own (its own
pyproject.toml when it has one, its rule selection included; else the defaults with paths
relative to the folder and every rule selected, so that the older pairs prove `SCN003` too,
which is off by default)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from scenarios.lint import LintConfig, Report, check, load_config
from scenarios.lint.selection import Selection, build

CORPUS = Path(__file__).parent / "corpus"
PAIRS = sorted(p for p in CORPUS.iterdir() if p.is_dir())
EXPECT = re.compile(r"#\s*expect:\s*(?P<code>SCN\d{3})")
NEEDS_312 = {"13_pep695_type_alias"}  # `type X = ...` does not parse before Python 3.12


def run(folder: Path, *, every_rule: bool = True) -> Report:
    """With the folder's own table (its rule selection too) or, without one, every rule;
    `every_rule=False`: the default rule set, whatever the table selects."""
    pyproject = folder / "pyproject.toml"
    defaults = None if every_rule else Selection()
    if pyproject.is_file():
        return check([folder], load_config(pyproject), defaults)
    config = LintConfig(base=folder)
    return check([folder], config, build(select=("ALL",)) if every_rule else defaults)


def expected(folder: Path) -> set[tuple[str, int, str]]:
    found: set[tuple[str, int, str]] = set()
    for path in sorted(folder.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if (match := EXPECT.search(line)) is not None:
                found.add((path.relative_to(folder).as_posix(), number, match["code"]))
    return found


def got(folder: Path, report: Report) -> set[tuple[str, int, str]]:
    return {(f.path.relative_to(folder).as_posix(), f.line, f.code) for f in report.findings}


def header(folder: Path) -> str:
    """The leading comments of the folder's files, where each twin names its origin."""
    lines: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            lines.append(line[1:].strip())
    return " ".join(lines)


def test_the_corpus_has_at_least_twenty_pairs_each_naming_its_origin() -> None:
    assert len(PAIRS) >= 20
    for pair in PAIRS:
        assert (pair / "buggy").is_dir(), pair.name
        assert (pair / "clean").is_dir(), pair.name
        assert "Modelled on" in header(pair / "buggy"), pair.name
        assert header(pair / "clean"), pair.name
        assert expected(pair / "buggy"), f"{pair.name}: the buggy twin marks no line"
        assert not expected(pair / "clean"), f"{pair.name}: the clean twin marks a line"


def _skip_if_too_new(pair: Path) -> None:
    if pair.name in NEEDS_312 and sys.version_info < (3, 12):
        pytest.skip("PEP 695 `type` statements need Python 3.12 to parse")


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_buggy_twin_is_flagged_at_the_marked_lines(pair: Path) -> None:
    _skip_if_too_new(pair)
    report = run(pair / "buggy")
    assert report.skipped == []
    assert got(pair / "buggy", report) == expected(pair / "buggy")


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_clean_twin_is_silent(pair: Path) -> None:
    _skip_if_too_new(pair)
    report = run(pair / "clean")
    assert report.skipped == []
    assert report.findings == []
    assert report.unused_markers == []


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_at_default_settings_the_buggy_twin_gets_its_marked_lines_but_scn003(pair: Path) -> None:
    _skip_if_too_new(pair)
    report = run(pair / "buggy", every_rule=False)
    wanted = {e for e in expected(pair / "buggy") if e[2] != "SCN003"}
    assert got(pair / "buggy", report) == wanted
