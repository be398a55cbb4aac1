"""The wirings are named in three places: the app (`reference_app.wirings.WIRINGS`, the one that
counts), the noxfile's cells and the CI workflow's matrix. The last two cannot import the app
(nox's own Python and YAML lack its dependencies), so they keep a copy, and this checks it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from reference_app.wirings import WIRINGS

ROOT = Path(__file__).resolve().parents[2]


def noxfile_wirings() -> list[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "WIRINGS" for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py assigns no WIRINGS")


def workflow_wirings() -> list[str]:
    """The items of the `wiring:` list of the workflow's matrix, in order."""
    lines = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.split("#")[0].strip() == "wiring:")
    items = []
    for line in lines[start + 1 :]:
        item = re.fullmatch(r"\s*- (\w+)\s*", line)
        if item is None:
            break
        items.append(item.group(1))
    return items


def test_the_noxfile_runs_a_cell_for_each_wiring_of_the_app() -> None:
    assert noxfile_wirings() == list(WIRINGS)


def test_the_ci_workflow_runs_a_cell_for_each_wiring_of_the_app() -> None:
    assert workflow_wirings() == list(WIRINGS)
