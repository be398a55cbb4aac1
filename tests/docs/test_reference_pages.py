"""The site's reference pages are rendered from the code and name everything it defines
(docs/hooks/reference.py, the MkDocs hook `nox -s docs` runs). Checked here without MkDocs, so
`nox -s tests` catches an outcome, variable, key or rule code that no page explains."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from scenarios.cli import build_parser
from scenarios.lint.findings import RULES
from scenarios.outcomes import Outcome

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference_hook", DOCS / "hooks" / "reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


hook = load_hook()
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", sorted(hook.COVERS))
def test_each_reference_page_names_everything_the_code_defines(page: str) -> None:
    assert hook.gaps((DOCS / page).read_text(encoding="utf-8"), page) == []


def test_a_page_that_leaves_an_outcome_out_is_reported() -> None:
    page = "reference/outcomes.md"
    text = (DOCS / page).read_text(encoding="utf-8").replace("`split_exchange`", "split")
    assert hook.gaps(text, page) == [
        f"{page}, '## Matrix outcomes', does not explain `split_exchange`, which the code defines"
    ]
    assert hook.gaps("# Outcomes\n", page)[0] == f"{page} has no section '## Matrix outcomes'"


@pytest.mark.parametrize("page", PAGES)
def test_every_marker_names_a_renderer(page: str) -> None:
    names = re.findall(r"^<!-- reference:([\w-]+) -->$", (DOCS / page).read_text(), re.MULTILINE)
    assert set(names) <= set(hook.RENDERERS)


@pytest.mark.parametrize("name", sorted(hook.RENDERERS))
def test_every_renderer_renders_and_is_used_on_a_page(name: str) -> None:
    assert hook.RENDERERS[name]().strip()
    marker = f"<!-- reference:{name} -->"
    assert any(marker in (DOCS / page).read_text(encoding="utf-8") for page in PAGES)


def test_the_commands_page_shows_every_subcommand_and_flag() -> None:
    rendered = hook.commands()
    usage = build_parser().format_usage()
    found = re.search(r"\{([\w,-]+)\}", usage)
    assert found is not None
    for name in found.group(1).split(","):
        assert f"### `python -m scenarios {name}`" in rendered
    assert "--stateful-examples" in rendered
    assert "### `python -m scenarios.lint`" in rendered
    assert "--isolated" in rendered


def test_the_pytest_options_come_from_every_registered_plugin() -> None:
    rendered = hook.pytest_options()
    for option in ("--scenario-target", "--session-guard", "--sweep-reports"):
        assert f"`{option}" in rendered
    assert "`session_guard`" in rendered


def test_the_nox_sessions_are_read_from_the_noxfile() -> None:
    sessions = {s.name: s for s in hook.nox_sessions()}
    assert sessions["matrix"].default
    assert not sessions["tests"].default
    assert "cell(WIRING-DB)" in sessions
    assert sessions["docs"].summary.startswith("Build the documentation site")


def test_lint_rules_and_outcomes_are_the_code_s() -> None:
    rendered = hook.lint_rules()
    assert all(f"`{code}`" in rendered for code in RULES)
    assert {str(o) for o in Outcome} == hook.matrix_outcomes()


def test_a_fence_tagged_for_the_guide_s_test_shows_as_plain_code() -> None:
    markdown = "```python run\nx = 1\n```\n```console check\n$ nox\n```\n"
    assert hook.render(markdown, "porting.md") == "```python\nx = 1\n```\n```console\n$ nox\n```\n"
