"""`python -m scenarios merge-reports`: the shards of a matrix (one CI job per `cell(...)` nox
session) come back as one report, equal to the run of the whole, and a bad shard is refused."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scenarios.cli import main

TARGET = "reference_app.adapter:TARGET"


def _run_shard(folder: Path, *wirings: str) -> int:
    args = ["run", "--target", TARGET, "--db", "sqlite", "-k", "first_message"]
    for wiring in wirings:
        args += ["--wiring", wiring]
    return main([*args, "--reports", str(folder), "--quiet"])


def _cells(folder: Path) -> dict[str, tuple[str, str]]:
    document = json.loads((folder / "matrix.json").read_text(encoding="utf-8"))
    return {
        f"{c['wiring']}-{c['db']}-{c['scenario']}[{c['interleaving']}]": (
            c["observed"],
            c["verdict"],
        )
        for c in document["cells"]
    }


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two shards and, for comparison, one run of both wirings at once."""
    root = tmp_path_factory.mktemp("shards")
    assert _run_shard(root / "cell-two_sessions-sqlite", "two_sessions") == 0
    assert _run_shard(root / "cell-unit_of_work-sqlite", "unit_of_work") == 0
    assert _run_shard(root / "whole", "two_sessions", "unit_of_work") == 0
    page = root / "cell-two_sessions-sqlite" / "stateful-two_sessions-sqlite.md"
    page.write_text("# a search page\n", encoding="utf-8")
    return root / "cell-two_sessions-sqlite", root / "cell-unit_of_work-sqlite", root / "whole"


def test_the_merged_shards_are_the_report_of_the_whole_run(
    shards: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, whole = shards
    merged = tmp_path / "merged"
    assert main(["merge-reports", str(first), str(second), "--reports", str(merged)]) == 0
    assert _cells(merged) == _cells(whole)
    assert len(_cells(merged)) == 2
    cases = ET.parse(merged / "junit-matrix.xml").getroot().iter("testcase")
    assert len(list(cases)) == 2
    assert "two_sessions" in (merged / "matrix.md").read_text(encoding="utf-8")
    assert (merged / "stateful-two_sessions-sqlite.md").read_text() == "# a search page\n"
    assert "2 as expected, 0 unexpected" in capsys.readouterr().out


def test_an_unexpected_cell_in_any_shard_fails_the_merge(
    shards: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    first, second, _ = shards
    broken = tmp_path / "broken"
    broken.mkdir()
    document = json.loads((second / "matrix.json").read_text(encoding="utf-8"))
    document["cells"][0]["verdict"] = "unexpected"
    (broken / "matrix.json").write_text(json.dumps(document), encoding="utf-8")
    merged = tmp_path / "merged"
    assert main(["merge-reports", str(first), str(broken), "--reports", str(merged)]) == 1
    assert json.loads((merged / "matrix.json").read_text())["summary"]["unexpected"] == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda first, _: [first, first], "is in both", id="same-cell-twice"),
        pytest.param(lambda _, tmp: [tmp / "absent"], "no matrix.json", id="missing-folder"),
        pytest.param(lambda _, tmp: [tmp / "garbled"], "not a matrix report", id="garbled"),
    ],
)
def test_a_shard_that_cannot_merge_is_a_one_line_error(
    shards: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: object,
    message: str,
) -> None:
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "matrix.json").write_text("{not json", encoding="utf-8")
    folders = make(shards[0], tmp_path)  # type: ignore[operator]
    with pytest.raises(SystemExit) as exited:
        main(["merge-reports", *map(str, folders), "--reports", str(tmp_path / "out")])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error
    assert "Traceback" not in error
