"""The page in a real browser (headless Chromium through Playwright): one coloured cell per
case, a two_sessions cell opening its timeline with the error on the right lane, the keyboard,
the filters and print; and the sweep's section beside the matrix's, from a real sweep run.
Screenshots go to reports/ for a person to look at.

The browser is Debian's `chromium` (installed by .ci/run), never one Playwright downloads.
Without it the tests skip with the reason, except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from scenarios.matrix import MatrixRun
from scenarios.reporting import read_sections
from tests.guard.conftest import second_session_site
from tests.sweep.small_apps import ORDER

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

# Without these, Chromium tries the network at start-up, which the closed network refuses.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def browser_or_skip() -> str:
    """The browser to use; without one, skip with the reason (fail under CI)."""
    missing = ""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is not installed (pyproject group `test`)"
    executable = find_chromium()
    if executable is None:
        missing = missing or "no Chromium found (apt-get install chromium; .ci/run does it)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"a browser is required under CI: {missing}")
        pytest.skip(missing)
    assert executable is not None
    return executable


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[BrowserContext]:
    executable = browser_or_skip()
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="harness-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 900},
            )
            try:
                yield context
            finally:
                await context.close()


@asynccontextmanager
async def opened_page(browser: BrowserContext, path: Path) -> AsyncIterator[Page]:
    """`path` opened from file://, failing the test on a script error or any network request."""
    opened = await browser.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    opened.on("request", lambda request: requests.append(request.url))
    await opened.goto(path.as_uri())
    try:
        yield opened
    finally:
        await opened.close()
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []


@pytest_asyncio.fixture
async def page(browser: BrowserContext, matrix_reports: Path) -> AsyncIterator[Page]:
    """The matrix page."""
    async with opened_page(browser, matrix_reports / "index.html") as opened:
        yield opened


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config) -> Path:
    folder = pytestconfig.rootpath / "reports"
    folder.mkdir(exist_ok=True)
    return folder


CELLS_JS = """() => Array.from(document.querySelectorAll("td.cell:not(.empty)")).map(td => ({
    wiring: td.dataset.wiring, db: td.dataset.db, outcome: td.dataset.outcome,
    row: td.parentElement.querySelector("th").textContent,
    classes: Array.from(td.classList), text: td.textContent,
    colour: getComputedStyle(td).backgroundColor, visible: td.offsetParent !== null
}))"""


async def cells_on(page: Page) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = await page.evaluate(CELLS_JS)
    return cells


async def test_the_grid_has_one_coloured_labelled_cell_per_case(
    page: Page, matrix_cells: list[dict[str, Any]], screenshots: Path
) -> None:
    cells = await cells_on(page)

    assert len(cells) == len(matrix_cells)
    assert sorted((c["wiring"], c["db"], c["outcome"]) for c in cells) == sorted(
        (c["wiring"], c["db"], c["observed"]) for c in matrix_cells
    )
    colours: dict[str, set[str]] = {}
    for cell in cells:
        assert f"outcome-{cell['outcome']}" in cell["classes"]
        assert cell["outcome"] in cell["text"]  # a text label, not colour alone
        colours.setdefault(cell["outcome"], set()).add(cell["colour"])
    assert all(len(shades) == 1 for shades in colours.values())
    assert len({next(iter(shades)) for shades in colours.values()}) == len(colours)
    unexpected = sum(c["verdict"] == "unexpected" for c in matrix_cells)
    assert await page.locator("td.cell.unexpected .mark").count() == unexpected
    await page.screenshot(path=str(screenshots / "report-grid.png"))


@pytest.mark.parametrize(
    ("db", "error"),
    [
        ("postgresql", "SQLSTATE 23503"),
        ("sqlite", "SQLITE_BUSY"),
        ("mariadb", "lock wait timeout (MySQL error 1205)"),
    ],
)
async def test_a_two_sessions_cell_opens_its_timeline_with_the_error_on_the_right_lane(
    page: Page, matrix_run: MatrixRun, screenshots: Path, db: str, error: str
) -> None:
    if db in matrix_run.databases and matrix_run.databases[db].startswith("skipped"):
        pytest.skip(matrix_run.databases[db])
    row = page.locator("tbody tr", has=page.locator("th", has_text="first_message_new_session"))
    await row.locator(f"td[data-wiring=two_sessions][data-db={db}] button").click()

    panel = page.locator("#timeline")
    await panel.wait_for(state="visible")
    sessions = panel.locator(".lane-head[data-lane-kind=session]")
    assert await sessions.count() == 2
    second_site = second_session_site()
    lane_sites = {
        await head.get_attribute("data-lane"): await head.locator(".site").inner_text()
        for head in await sessions.all()
    }
    second = next(lane for lane, site in lane_sites.items() if second_site in site)
    (first,) = set(lane_sites) - {second}
    errors = panel.locator(".event.ev-error")
    assert await errors.count() == 1
    assert await errors.get_attribute("data-lane") == first
    assert error in await errors.inner_text()
    discarded = panel.locator(".event.ev-discarded")
    assert await discarded.get_attribute("data-lane") == second
    inserts = panel.locator(".event.ev-statement", has_text="INSERT messages")
    assert [await e.get_attribute("data-lane") for e in await inserts.all()] == [second]
    await panel.screenshot(path=str(screenshots / f"report-timeline-{db}.png"))


async def test_the_keyboard_moves_across_the_grid_and_opens_a_timeline(page: Page) -> None:
    focusable = page.locator("button.cell-button[tabindex='0']")
    assert await focusable.count() == 1  # one tab stop for the whole grid
    await focusable.focus()

    async def focused() -> tuple[str, str, str]:
        facts: list[str] = await page.evaluate(
            """() => { const td = document.activeElement.closest("td");
            return [td.parentElement.querySelector("th").textContent,
                    td.dataset.wiring, td.dataset.db]; }"""
        )
        return facts[0], facts[1], facts[2]

    row, wiring, db = await focused()
    await page.keyboard.press("ArrowRight")
    right = await focused()
    assert right != (row, wiring, db)
    assert right[0] == row
    await page.keyboard.press("ArrowDown")
    down = await focused()
    assert down[0] != row
    assert down[1:] == right[1:]  # the same column, one row down
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowLeft")
    assert await focused() == (row, wiring, db)
    await page.keyboard.press("End")
    assert (await focused())[0] == row

    await page.keyboard.press("Enter")
    await page.locator("#timeline").wait_for(state="visible")
    assert await page.evaluate("document.activeElement.id") == "timeline-title"
    await page.keyboard.press("Escape")
    await page.locator("#timeline").wait_for(state="hidden")
    assert (await focused())[0] == row


async def test_the_filters_narrow_the_grid(page: Page) -> None:
    await page.select_option("select[data-filter=wiring]", "two_sessions")
    visible = [c for c in await cells_on(page) if c["visible"]]
    assert visible
    assert {c["wiring"] for c in visible} == {"two_sessions"}

    await page.select_option("select[data-filter=wiring]", "")
    await page.select_option("select[data-filter=outcome]", "lost_write")
    shown = await page.evaluate(
        """() => Array.from(document.querySelectorAll("td.cell:not(.empty)"))
            .filter(td => td.offsetParent !== null && !td.classList.contains("dimmed"))
            .map(td => td.dataset.outcome)"""
    )
    assert shown
    assert set(shown) == {"lost_write"}


async def test_the_page_prints(page: Page, tmp_path: Path) -> None:
    await page.locator("td.cell:not(.outcome-ok) button").first.click()
    await page.emulate_media(media="print")

    assert await page.locator(".filters").first.is_hidden()
    assert await page.locator("table.grid").first.is_visible()
    assert await page.locator("#timeline").is_visible()
    pdf = tmp_path / "index.pdf"
    await page.pdf(path=str(pdf), landscape=True, print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF")


SWEEP_TIMEOUT_S = 300  # a sweep of a five-statement request takes seconds; never hang


@pytest.fixture(scope="session")
def sweep_reports(
    matrix_reports: Path, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Path:
    """A folder where the matrix wrote its page, then `python -m scenarios sweep` ran twice
    (a clean app, then its twin whose line repository commits on its own), as a team would."""
    folder = tmp_path_factory.mktemp("sweep-reports")
    shutil.copy(matrix_reports / "index.html", folder / "index.html")
    for factory, status in (("clean_orders", 0), ("line_repository_commits", 1)):
        done = subprocess.run(
            [sys.executable, "-m", "scenarios", "sweep", "--app-factory",
             f"tests.sweep.small_apps:{factory}", "--db", "sqlite", "--request", ORDER,
             "--reports", str(folder)],
            cwd=pytestconfig.rootpath, capture_output=True, text=True, timeout=SWEEP_TIMEOUT_S,
        )  # fmt: skip
        assert done.returncode == status, done.stdout + done.stderr
    return folder


def test_the_sweep_keeps_the_matrix_section(matrix_reports: Path, sweep_reports: Path) -> None:
    (matrix,) = read_sections(matrix_reports / "index.html")
    kept, sweep = read_sections(sweep_reports / "index.html")
    assert (kept.name, sweep.name) == ("matrix", "sweep")
    assert kept.as_dict() == matrix.as_dict()
    assert {cell.wiring.rsplit(":")[1] for cell in sweep.cells} == {
        "clean_orders",
        "line_repository_commits",
    }


@pytest_asyncio.fixture
async def sweep_page(browser: BrowserContext, sweep_reports: Path) -> AsyncIterator[Page]:
    """The page after the matrix and two sweeps."""
    async with opened_page(browser, sweep_reports / "index.html") as opened:
        yield opened


ROW_JS = """(factory) => Array.from(document.querySelectorAll("#section-sweep tbody tr"))
    .filter(tr => tr.querySelector("th").textContent.includes(factory))
    .map(tr => Array.from(tr.querySelectorAll("td.cell")).map(td => ({
        step: td.querySelector(".step").textContent, outcome: td.dataset.outcome,
        classes: Array.from(td.classList), label: td.querySelector(".label").textContent,
        colour: getComputedStyle(td).backgroundColor})))"""


async def sweep_row(page: Page, factory: str) -> list[dict[str, Any]]:
    (row,) = await page.evaluate(ROW_JS, factory)
    cells: list[dict[str, Any]] = row
    return cells


async def test_a_sweep_row_colours_and_labels_each_boundary(
    sweep_page: Page, sweep_reports: Path, matrix_cells: list[dict[str, Any]], screenshots: Path
) -> None:
    document = json.loads((sweep_reports / "sweep.json").read_text())
    swept = {s["app_factory"].rsplit(":")[1]: s["requests"][0] for s in document["sweeps"]}
    letter = {"statement": "S", "commit": "C", "response": "R"}
    for factory, request in swept.items():
        row = await sweep_row(sweep_page, factory)
        expected = [("no fault", request["first_run"]["outcome"])] + [
            (f"{b['index']}{letter[b['kind']]}", b["outcome"]) for b in request["boundaries"]
        ]
        assert [(c["step"], c["outcome"]) for c in row] == expected
        for cell in row:
            assert f"outcome-{cell['outcome']}" in cell["classes"]
            assert cell["label"] == cell["outcome"]  # a text label, not colour alone
    twin = await sweep_row(sweep_page, "line_repository_commits")
    partial = [c for c in twin if c["outcome"] == "partial_commit"]
    assert [c["step"] for c in partial] == ["4S", "5C"]
    legend_colour = await sweep_page.evaluate(
        """() => getComputedStyle(document.querySelector(
            "#section-sweep .legend .outcome-partial_commit")).backgroundColor"""
    )
    assert {c["colour"] for c in partial} == {legend_colour}
    assert legend_colour not in {c["colour"] for c in twin if c["outcome"] == "ok"}
    matrix = sweep_page.locator("#section-matrix td.cell:not(.empty)")
    assert await matrix.count() == len(matrix_cells)  # the matrix's grid is still whole
    await sweep_page.locator("#section-sweep").screenshot(
        path=str(screenshots / "report-sweep.png")
    )


async def test_the_keyboard_reaches_a_partial_commit_and_opens_its_detail(
    sweep_page: Page,
) -> None:
    section = sweep_page.locator("#section-sweep")
    stop = section.locator("button.cell-button[tabindex='0']")
    assert await stop.count() == 1  # one tab stop for the sweep's rows
    await stop.focus()
    await sweep_page.keyboard.press("ArrowDown")  # the second row: the buggy twin
    for _ in range(4):  # no fault, 1S, 2S, 3C, then 4S
        await sweep_page.keyboard.press("ArrowRight")
    focused = await sweep_page.evaluate(
        """() => { const td = document.activeElement.closest("td");
        return [td.parentElement.querySelector("th").textContent, td.dataset.outcome,
                td.querySelector(".step").textContent]; }"""
    )
    assert "line_repository_commits" in focused[0]
    assert focused[1:] == ["partial_commit", "4S"]
    await sweep_page.keyboard.press("Enter")
    panel = sweep_page.locator("#timeline")
    await panel.wait_for(state="visible")
    assert (await sweep_page.locator("#timeline-title").inner_text()).endswith("4S: partial_commit")
    assert "order_lines" in await panel.locator(".timeline-facts").inner_text()
    await sweep_page.keyboard.press("Escape")
    await panel.wait_for(state="hidden")


async def test_the_sweep_section_prints_in_colour(sweep_page: Page, tmp_path: Path) -> None:
    await sweep_page.emulate_media(media="print")
    assert await sweep_page.locator("#section-sweep .filters").is_hidden()
    cell = sweep_page.locator("#section-sweep td.outcome-partial_commit").first
    assert await cell.is_visible()
    colour = await cell.evaluate("td => getComputedStyle(td).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    pdf = tmp_path / "sweep.pdf"
    await sweep_page.pdf(path=str(pdf), landscape=True, print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF")


def test_a_missing_browser_skips_outside_ci_and_fails_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium found"):
        browser_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        browser_or_skip()
