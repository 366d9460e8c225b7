"""Pareto front, scales and the SVG charts."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from archive.browser import BrowserApp
from archive.browser.charts import (
    HEIGHT,
    LABEL_CHARS,
    LABEL_GAP,
    LEFT,
    mix_chart,
    pareto_chart,
    score_chart,
)
from archive.browser.run_digest import Baseline, FrontPoint, RunDigest, pareto_front
from archive.browser.svg import Scale, colour, domain, element, spread
from tests.archive.browser.conftest import BrowserArchive
from tests.archive.browser.shapes import BASELINES
from tests.archive.browser.synthetic import HOSTILE

positive = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(positive, positive), max_size=40))
def test_front_is_exactly_the_non_dominated_points(pairs: list[tuple[float, float]]) -> None:
    points = [FrontPoint(k + 1, gap, runtime) for k, (gap, runtime) in enumerate(pairs)]
    front = pareto_front(points)

    def dominated(p: FrontPoint) -> bool:
        return any((q.gap <= p.gap and q.runtime <= p.runtime)
                   and (q.gap < p.gap or q.runtime < p.runtime
                        or q.program_id < p.program_id) for q in points if q is not p)

    assert {p.program_id for p in front} == {p.program_id for p in points if not dominated(p)}
    assert [p.runtime for p in front] == sorted(p.runtime for p in front)
    assert all(a.gap > b.gap for a, b in itertools.pairwise(front))


@settings(max_examples=100, deadline=None)
@given(positive, positive, positive)
def test_log_scale_is_monotone_and_maps_the_ends(a: float, b: float, v: float) -> None:
    lo, hi = min(a, b), max(a, b) * 2
    scale = Scale(lo, hi, 10, 110, log=True)
    assert math.isclose(scale(lo), 10) and math.isclose(scale(hi), 110)
    assert scale.many([v]) == [scale(v)] or math.isclose(scale.many([v])[0], scale(v))
    assert all(lo <= t <= hi for t in scale.ticks())


def test_linear_ticks_are_round_and_inside() -> None:
    ticks = Scale(0, 9004, 0, 100).ticks()
    assert ticks[0] == 0 and ticks[-1] <= 9004
    assert all(t % 1000 == 0 for t in ticks)


def test_domain_and_colour() -> None:
    lo, hi = domain([1.0, 100.0], log=True)
    assert lo < 1 < 100 < hi
    assert colour(0) == "#440154" and colour(1) == "#fde725"
    assert re.fullmatch(r"#[0-9a-f]{6}", colour(0.37))


def test_element_escapes_attributes_and_text() -> None:
    out = str(element("text", HOSTILE, fill=HOSTILE))
    assert "<script" not in out and "<img" not in out
    assert out.startswith("<text fill=") and out.endswith("</text>")


def test_charts_of_the_test_run(app: BrowserApp, browser_archive: BrowserArchive) -> None:
    with Session(app.archive.engine) as session:
        view = app.cache.run_view(session, browser_archive.main.run_id)
    digest = view.digest
    score = str(score_chart(digest))
    # one linked marker per improvement of the running best (the last point is the end)
    assert score.count('class="train-point"') == len(digest.train_best) - 1
    assert score.count('class="validation-point"') == len(digest.validation)
    pareto = str(pareto_chart(digest))
    assert pareto.count('class="front-point"') == len([p for p in digest.front if p.gap > 0])
    assert pareto.count('class="baseline"') == len(digest.baselines)
    for p in digest.front:
        assert f'href="/program/{p.program_id}"' in pareto
    mix = str(mix_chart(digest))
    assert mix.count("<rect") > len(digest.mix)


def test_baseline_names_are_escaped_in_the_pareto_chart(app: BrowserApp,
                                                        browser_archive: BrowserArchive) -> None:
    with Session(app.archive.engine) as session:
        view = app.cache.run_view(session, browser_archive.other_run)
    assert view.digest.baselines == (Baseline(HOSTILE, 5.0, None, 1e-4),)
    svg = str(view.pareto_svg)
    assert "<script" not in svg and "&lt;/script&gt;" in svg


finite = st.floats(min_value=-50, max_value=350, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, max_size=25), st.floats(min_value=1, max_value=20))
def test_spread_keeps_order_gaps_and_bounds(wanted: list[float], gap: float) -> None:
    low, high = 0.0, 300.0
    placed = spread(wanted, gap, low, high)
    assert len(placed) == len(wanted)
    assert all(low <= p <= high for p in placed)
    order = sorted(range(len(wanted)), key=lambda k: (wanted[k], k))
    room = gap if len(wanted) < 2 else min(gap, (high - low) / (len(wanted) - 1))
    for a, b in itertools.pairwise(order):  # same order, at least the gap apart
        assert placed[b] - placed[a] >= room - 1e-6
    uncrowded = all(low <= w <= high for w in wanted) and all(
        wanted[b] - wanted[a] >= gap for a, b in itertools.pairwise(order))
    if uncrowded:  # labels with room stay where they are
        assert all(math.isclose(p, w, abs_tol=1e-6) for p, w in zip(placed, wanted,
                                                                      strict=True))


def test_spread_centres_a_crowd_on_its_labels() -> None:
    assert spread([100.0, 101.0, 102.0], 12.0, 0.0, 300.0) == [89.0, 101.0, 113.0]
    assert spread([5.0, 6.0], 12.0, 20.0, 240.0) == [20.0, 32.0]


def _label_rows(svg: str) -> dict[str, float]:
    return {name: float(y) for y, name in
            re.findall(r'<text x="[^"]+" y="([^"]+)" class="baseline-label"[^>]*>(\S+) ', svg)}


@pytest.fixture
def digest(app: BrowserApp, browser_archive: BrowserArchive) -> RunDigest:
    """The digest of the shared test run."""
    with Session(app.archive.engine) as session:
        return app.cache.run_view(session, browser_archive.main.run_id).digest


def test_score_chart_spreads_close_baseline_labels(digest: RunDigest) -> None:
    close = tuple(Baseline(name, gap, None, 1e-4) for name, gap in BASELINES)
    svg = str(score_chart(replace(digest, baselines=close)))
    rows = _label_rows(svg)
    assert set(rows) == {name for name, _ in BASELINES}
    ranked = [rows[name] for name, _ in sorted(BASELINES, key=lambda b: -b[1])]
    assert all(b - a >= LABEL_GAP - 1e-6 for a, b in itertools.pairwise(ranked))
    assert all(0 < y < HEIGHT for y in ranked)
    assert svg.count('class="baseline-leader"') == len(BASELINES)
    # Labels sit right of the plot, so no line or point is drawn under them.
    found = re.search(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)
    assert found is not None
    frame = float(found.group(1))
    xs = {float(x) for x in re.findall(r'<text x="([^"]+)" y="[^"]+" class="baseline-label"',
                                       svg)}
    assert all(x > LEFT + frame for x in xs)


def test_long_baseline_names_are_shortened_with_the_full_name_as_tooltip(
        digest: RunDigest) -> None:
    name = "aug_mddc_with_local_search"
    svg = str(score_chart(replace(digest, baselines=(Baseline(name, 5.0, None, None),))))
    assert f">{name[:LABEL_CHARS - 1]}… 5<title>{name}: train 5</title>" in svg
