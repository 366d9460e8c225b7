"""Layout of crowded pages in headless Chromium, measured in the browser (issue 19).

Renders the run page, the compare view and the lineage page of an archive
with the crowded shapes (:mod:`tests.archive.browser.shapes`), saves a PNG of
each under the test's tmp dir, and checks geometry the browser measured:
baseline labels that do not overlap, differing instances on top with the
identical ones collapsed, siblings side by side. Driven like
``test_e2e_chromium.py`` (Debian ``chromium`` through Playwright's Python package).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive import Archive
from archive.browser import BrowserApp, make_server, open_readonly
from tests.archive.browser.shapes import (
    BASELINES,
    DIFFERING,
    INSTANCES,
    PER_GENERATION,
    Shapes,
    build_shapes,
)
from tests.system_components import Component, require

pytestmark = pytest.mark.slow

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session", autouse=True)
def chromium() -> Path:
    """The browser (autouse: skipped without it before the archive is built)."""
    return require(Component.CHROMIUM)


@pytest.fixture(scope="module")
def shapes_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shapes, str]]:
    """The shapes archive served on a free loopback port: (ids, base URL)."""
    path = tmp_path_factory.mktemp("shapes") / "archive.sqlite"
    with Archive.open(path) as store:
        shapes = build_shapes(store)
    readonly = open_readonly(path)
    server = make_server(BrowserApp(readonly), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield shapes, server.url.rstrip("/")
    server.shutdown()
    server.server_close()
    readonly.close()


@pytest.fixture(scope="module")
def tab(chromium: Path) -> Iterator[Any]:
    """A Chromium page with a fresh profile."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev extra
        pytest.fail("playwright is missing: pip install -e '.[dev]'")
    profile = tempfile.mkdtemp(prefix="discover-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(chromium), headless=True, args=ARGS,
            viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_score_chart_baseline_labels_do_not_overlap(tab: Any, shapes_site: tuple[Shapes, str],
                                                   tmp_path: Path) -> None:
    shapes, base = shapes_site
    tab.goto(f"{base}/run/{shapes.run_id}")
    chart = tab.locator("#score-chart svg.chart")
    chart.screenshot(path=str(tmp_path / "score-chart.png"))
    labels = chart.locator(".baseline-label")
    assert labels.count() == len(BASELINES)
    # The glyphs' box (Playwright's bounding_box would add the labels' halo stroke).
    boxes = labels.evaluate_all("""els => els.map(e => {
        const r = e.getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height};
    })""")
    texts = labels.all_text_contents()
    for k, (name, _) in enumerate(BASELINES):
        assert texts[k].startswith(name), texts
    for k in range(len(boxes)):
        for j in range(k):
            assert not _overlap(boxes[k], boxes[j]), (texts[k], texts[j], boxes[k], boxes[j])
    frame = chart.bounding_box()
    for box in boxes:  # nothing cut off at the chart's edge
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
        assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]
    # Labels keep the order of their lines: a larger gap is drawn higher.
    by_gap = sorted(range(len(BASELINES)), key=lambda k: -BASELINES[k][1])
    assert [boxes[k]["y"] for k in by_gap] == sorted(box["y"] for box in boxes)


def test_compare_shows_differences_first_and_collapses_the_rest(
        tab: Any, shapes_site: tuple[Shapes, str], tmp_path: Path) -> None:
    shapes, base = shapes_site
    tab.goto(f"{base}/compare?a={shapes.a}&b={shapes.b}")
    section = tab.locator("#per-instance")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(tmp_path / "compare-collapsed.png"))
    rows = tab.locator("#per-instance table.compare-train tbody tr")
    assert rows.count() == INSTANCES  # every instance is on the page
    visible = [r for r in rows.all() if r.is_visible()]
    assert [r.locator("td.instance").inner_text() for r in visible] == list(shapes.differing)
    # The visible rows are the table's first rows, and the whole section is short:
    # a reader sees the differences without scrolling past identical rows.
    first = [rows.nth(k).locator("td.instance").inner_text() for k in range(len(DIFFERING))]
    assert first == list(shapes.differing)
    assert section.bounding_box()["height"] < 600
    summary = section.locator("details.identical > summary")
    assert summary.locator(".identical-count").inner_text() == str(INSTANCES - len(DIFFERING))
    summary.click()
    assert sum(r.is_visible() for r in rows.all()) == INSTANCES
    section.screenshot(path=str(tmp_path / "compare-expanded.png"))


def test_lineage_lays_siblings_side_by_side(tab: Any, shapes_site: tuple[Shapes, str],
                                            tmp_path: Path) -> None:
    shapes, base = shapes_site
    tab.goto(f"{base}/program/{shapes.parent}/lineage?depth=1")
    drawing = tab.locator(".lineage-box svg.lineage")
    drawing.screenshot(path=str(tmp_path / "lineage.png"))
    centres = {}
    for child in shapes.children:
        box = drawing.locator(f'circle[data-program="{child}"]').bounding_box()
        centres[child] = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    rows = sorted({round(y) for _, y in centres.values()})
    # One row per child born in the same generation, not one per child: the
    # siblings share rows side by side instead of a staircase.
    assert len(rows) <= PER_GENERATION + 1, rows
    sharing = max(sum(round(y) == row for _, y in centres.values()) for row in rows)
    assert sharing >= len(shapes.children) // (PER_GENERATION + 1)
    # Height grows with the rows, not with the number of children.
    node = drawing.locator(f'circle[data-program="{shapes.parent}"]').bounding_box()
    height = drawing.bounding_box()["height"]
    assert height < (PER_GENERATION + 3) * 2 * node["height"], height
