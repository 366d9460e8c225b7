"""The compare view's per-instance tables: differences first, identical outcomes collapsed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from archive import Archive, EvaluationStatus, Split
from archive.browser import BrowserApp, open_readonly
from archive.browser.program_data import compare_split
from tests.archive.browser.shapes import DIFFERING, INSTANCES, Shapes, build_shapes


@pytest.fixture(scope="module")
def shapes_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shapes, BrowserApp]]:
    path = tmp_path_factory.mktemp("shapes") / "archive.sqlite"
    with Archive.open(path) as store:
        shapes = build_shapes(store)
    readonly = open_readonly(path)
    yield shapes, BrowserApp(readonly)
    readonly.close()


def test_split_comparison_separates_differing_from_identical(
        shapes_app: tuple[Shapes, BrowserApp]) -> None:
    shapes, app = shapes_app
    with Archive.open(app.archive.engine.url.database, create=False) as store:
        a, b = store.program(shapes.a), store.program(shapes.b)
    s = compare_split(Split.TRAIN, a.evaluations[Split.TRAIN], b.evaluations[Split.TRAIN])
    assert [p.instance for p in s.differing] == list(shapes.differing)
    assert len(s.identical) == INSTANCES - len(DIFFERING)
    assert {p.instance for p in s.differing} | {p.instance for p in s.identical} \
        == {p.instance for p in s.pairs}
    for p in s.identical:
        assert p.a is not None and p.b is not None and p.winner == ""
        assert (p.a.status, p.a.objective, p.a.gap) == (p.b.status, p.b.objective, p.b.gap)
    failed = next(p for p in s.differing if p.b is not None
                  and p.b.status is EvaluationStatus.TIMEOUT)
    assert failed.winner == "a"
    # One side missing an instance is a difference too.
    only_a = compare_split(Split.TRAIN, a.evaluations[Split.TRAIN], None)
    assert len(only_a.differing) == INSTANCES and not only_a.identical


def test_compare_page_lists_differences_first(shapes_app: tuple[Shapes, BrowserApp]) -> None:
    shapes, app = shapes_app
    page = app.handle("GET", f"/compare?a={shapes.a}&b={shapes.b}").text
    rows = re.findall(r'<tr class="winner-[a-z]+"><td class="instance">([^<]+)</td>', page)
    assert len(rows) == INSTANCES
    assert rows[:len(DIFFERING)] == list(shapes.differing)
    head, collapsed = page.split('<details class="identical identical-train">', 1)
    assert all(f">{name}<" in head for name in shapes.differing)
    assert f'<span class="identical-count">{INSTANCES - len(DIFFERING)}</span>' in collapsed
    assert collapsed.count('<td class="instance">') == INSTANCES - len(DIFFERING)


def test_compare_of_a_program_with_itself_says_so(shapes_app: tuple[Shapes, BrowserApp]) -> None:
    shapes, app = shapes_app
    page = app.handle("GET", f"/compare?a={shapes.a}&b={shapes.a}").text
    assert "A and B have the same outcome on every instance." in page
    assert f'<span class="identical-count">{INSTANCES}</span>' in page
