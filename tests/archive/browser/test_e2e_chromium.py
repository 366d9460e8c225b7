"""End to end in headless Chromium: runs list, run page, program, diff, compare, injection.

Drives the Debian ``chromium`` through Playwright's Python package (its own
browser download is not used; skipped without ``chromium``, see
``tests/system_components.py``), against a live server over the shared test
archive, and checks what the pages show against the store API. Screenshots go
to ``test-artifacts/browser/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive import Archive, EvaluationStatus, Split
from archive.browser import BrowserServer
from tests.archive.browser.conftest import HOSTILE_PROBLEM, BrowserArchive
from tests.archive.browser.synthetic import HOSTILE
from tests.conftest import ROOT
from tests.system_components import Component, require

pytestmark = pytest.mark.slow

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="session", autouse=True)
def chromium() -> Path:
    """The browser (autouse: skipped without it before the test archive is built)."""
    return require(Component.CHROMIUM)


@pytest.fixture(scope="module")
def page(chromium: Path, live_server: BrowserServer) -> Iterator[Any]:
    """A Chromium page with a fresh profile; dialogs are recorded and dismissed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev extra
        pytest.fail("playwright is missing: pip install -e '.[dev]'")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="discover-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(chromium), headless=True, args=ARGS,
            viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.dialogs = []
        tab.console_errors = []
        tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
        tab.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
        tab.on("pageerror", lambda e: tab.console_errors.append(str(e)))
        tab.base = live_server.url.rstrip("/")
        yield tab
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def shot(tab: Any, name: str, selector: str | None = None) -> None:
    target = tab.locator(selector).first if selector else tab
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_runs_list(page: Any, store: Archive, browser_archive: BrowserArchive) -> None:
    page.goto(page.base + "/")
    rows = page.locator("tr.run-row")
    assert rows.count() == len(store.runs())
    main = page.locator(f'tr.run-row[data-run="{browser_archive.main.run_id}"]')
    best = store.best(browser_archive.main.run_id, Split.TRAIN, top=1)[0]
    assert f"{best.evaluation.gap:.4g} %" in main.locator("td.best-train").inner_text()
    assert f"#{best.summary.id}" in main.locator("td.best-train").inner_text()
    other = page.locator(f'tr.run-row[data-run="{browser_archive.other_run}"]')
    assert other.locator("td.problem").inner_text() == HOSTILE_PROBLEM
    shot(page, "01-runs")
    main.locator("a.run-link").click()
    page.wait_for_url(f"**/run/{browser_archive.main.run_id}")


def test_run_page(page: Any, store: Archive, browser_archive: BrowserArchive) -> None:
    run = browser_archive.main.run_id
    page.goto(f"{page.base}/run/{run}")
    counters = store.run_state(run, per_instance=False).counters
    assert f"{counters.evaluated} evaluated" in page.locator("dd.programs-count").inner_text()
    for chart in ("#score-chart svg.chart", "#mix-chart svg.chart", "#pareto-chart svg.chart",
                  "#lineage svg.lineage"):
        assert page.locator(chart).count() == 1
    assert page.locator("#pareto-chart .baseline").count() == 5
    ranked = store.best(run, Split.TRAIN, top=10)
    links = page.locator("table.best-train td a.pid").all_inner_texts()
    assert links == [f"#{r.summary.id}" for r in ranked]
    shot(page, "02-run")
    shot(page, "03-run-charts", "section.charts")
    node = page.locator("#lineage svg a").first
    target = node.locator("circle").get_attribute("data-program")
    node.click()
    page.wait_for_url(f"**/program/{target}")


def test_program_page_and_diff(page: Any, store: Archive,
                               browser_archive: BrowserArchive) -> None:
    detail = next(store.program(p) for p in browser_archive.main.program_ids[40:]
                  if store.program(p).parents and store.program(p).model_calls
                  and Split.TRAIN in store.program(p).evaluations
                  and store.program(p).evaluations[Split.TRAIN].status is EvaluationStatus.OK)
    page.goto(f"{page.base}/program/{detail.id}")
    code = page.locator("table.code td.src").all_inner_texts()
    assert [line.rstrip("\n") for line in code] == detail.program.code.splitlines()
    assert page.locator("blockquote.idea").inner_text() == detail.program.idea
    score = page.locator("tr.evaluation-train td.score").inner_text()
    assert score == f"{detail.evaluations[Split.TRAIN].score:.4g}"
    for parent in detail.parents:
        block = page.locator(f'div.parent-diff[data-parent="{parent.program_id}"]')
        expected = store.diff(parent.program_id, detail.id)
        assert block.locator("tr.row-added").count() == expected.added
        assert block.locator("tr.row-removed").count() == expected.removed
        assert f"+{expected.added}" in block.locator(".stat-add").inner_text()
    instances = detail.evaluations[Split.TRAIN].per_instance
    assert page.locator("table.per-instance-train tbody tr").count() == len(instances)
    shot(page, "04-program")
    shot(page, "05-program-diff", "#diffs")
    page.locator("div.parent-diff a.compare-link").first.click()
    page.wait_for_url("**/compare?*")
    assert f"b={detail.id}" in page.url


def test_compare_view(page: Any, store: Archive, browser_archive: BrowserArchive) -> None:
    ranked = store.best(browser_archive.main.run_id, Split.TRAIN, top=2)
    a, b = store.program(ranked[0].summary.id), store.program(ranked[1].summary.id)
    page.goto(f"{page.base}/compare?a={a.id}&b={b.id}")
    left = page.locator("table.diff.side td.left").all_inner_texts()
    right = page.locator("table.diff.side td.right").all_inner_texts()
    assert [t for t in left if t] == [t for t in a.program.code.splitlines() if t]
    assert [t for t in right if t] == [t for t in b.program.code.splitlines() if t]
    rows = page.locator("table.compare-train tbody tr")
    pairs = list(zip(a.evaluations[Split.TRAIN].per_instance,
                     b.evaluations[Split.TRAIN].per_instance, strict=True))
    assert rows.count() == len(pairs)
    a_wins = sum(1 for x, y in pairs if x.objective is not None and y.objective is not None
                 and x.objective < y.objective)
    assert int(page.locator("#per-instance .a-wins").first.inner_text()) == a_wins
    assert page.locator("table.compare-train tr.winner-a").count() == a_wins
    shot(page, "06-compare")


def test_hostile_text_renders_as_text_and_runs_nothing(page: Any, store: Archive,
                                                       browser_archive: BrowserArchive) -> None:
    pid = browser_archive.main.hostile_id
    assert pid is not None
    for path in (f"/program/{pid}", f"/run/{browser_archive.other_run}", "/",
                 f"/compare?a={pid}&b={browser_archive.main.program_ids[3]}"):
        page.goto(page.base + path)
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.evaluate("document.images.length") == 0, path
        assert page.evaluate("document.scripts.length") == 1, path
    page.goto(f"{page.base}/program/{pid}")
    assert page.locator("blockquote.idea").inner_text() == HOSTILE
    code = page.locator("table.code td.src").all_inner_texts()
    assert code[0] == f"# {HOSTILE}"
    assert store.program(pid).program.code.splitlines()[0] == code[0]
    assert HOSTILE in page.locator("pre.prompt").first.inner_text()
    assert page.locator("td.instance").first.inner_text() == HOSTILE
    assert page.dialogs == []
    assert not [e for e in page.console_errors if "pwned" in e]
    shot(page, "07-hostile-program")


def test_tables_sort_on_click(page: Any, browser_archive: BrowserArchive) -> None:
    page.goto(f"{page.base}/run/{browser_archive.main.run_id}")
    header = page.locator("table.islands th").nth(1)  # programs
    header.click()
    header.click()  # descending
    counts = [int(t.replace(",", "")) for t in
              page.locator("table.islands tbody tr td:nth-child(2)").all_inner_texts()]
    assert counts == sorted(counts, reverse=True)
    assert page.console_errors == []
