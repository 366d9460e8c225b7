"""The run page's figures against the same quantities recomputed from ``run_state``."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from archive import Archive, EvaluationStatus, Split
from archive.browser import BrowserApp
from archive.browser.run_digest import (
    DUPLICATE,
    UNEVALUATED,
    RunDigest,
    _buckets,
    baselines_of,
)
from archive.browser.runtimes import mean_seconds
from tests.archive.browser.conftest import BrowserArchive


@pytest.fixture(scope="module")
def digest(app: BrowserApp, browser_archive: BrowserArchive) -> RunDigest:
    with Session(app.archive.engine) as session:
        return app.cache.run_view(session, browser_archive.main.run_id).digest


def test_counts_and_running_best(digest: RunDigest, store: Archive,
                                 browser_archive: BrowserArchive) -> None:
    state = store.run_state(browser_archive.main.run_id)
    assert digest.programs == len(state.programs)
    assert digest.counters == state.counters
    scores = []
    for ps in state.programs:
        if ps.duplicate_of is not None:
            continue
        ev = ps.evaluations.get(Split.TRAIN)
        scores.append(ev.score if ev is not None and ev.status is EvaluationStatus.OK else None)
    running, best = [], float("inf")
    for k, s in enumerate(scores, start=1):
        if s is not None and s < best:
            best = s
            running.append((k, s))
    assert [(p.x, p.y) for p in digest.train_best[:len(running)]] == running
    assert digest.train_best[-1].x == len(scores)
    assert digest.train_best[-1].y == min(s for s in scores if s is not None)
    medians = dict(digest.train_median)
    for a, b in _buckets(len(scores), 40):
        window = [s for s in scores[a:b] if s is not None]
        assert medians.get(b) == (statistics.median(window) if window else None)


@given(st.integers(0, 5000), st.integers(1, 100))
def test_buckets_cover_everything_once(n: int, count: int) -> None:
    spans = _buckets(n, count)
    assert [i for a, b in spans for i in range(a, b)] == list(range(n))
    assert len(spans) <= count


def test_failure_mix_counts_every_program_once(digest: RunDigest, store: Archive,
                                               browser_archive: BrowserArchive) -> None:
    state = store.run_state(browser_archive.main.run_id)
    expected: Counter[str] = Counter()
    for ps in state.programs:
        if ps.duplicate_of is not None:
            expected[DUPLICATE] += 1
        elif Split.TRAIN in ps.evaluations:
            expected[ps.evaluations[Split.TRAIN].status.value] += 1
        else:
            expected[UNEVALUATED] += 1
    got: Counter[str] = Counter()
    for bucket in digest.mix:
        got.update(bucket.counts)
        assert sum(bucket.counts.values()) == bucket.stop - bucket.start + 1
    assert got == expected
    assert digest.mix[0].start == 1 and digest.mix[-1].stop == len(state.programs)
    assert len({s for s in expected if s not in ("ok", DUPLICATE)}) >= 3  # a real mix


def test_islands_agree_with_the_programs(digest: RunDigest, store: Archive,
                                         browser_archive: BrowserArchive) -> None:
    state = store.run_state(browser_archive.main.run_id)
    for island in digest.islands:
        mine = [ps for ps in state.programs if ps.program.island == island.island]
        ok = [ps for ps in mine if ps.duplicate_of is None
              and ps.evaluations.get(Split.TRAIN) is not None
              and ps.evaluations[Split.TRAIN].status is EvaluationStatus.OK]
        assert island.programs == len(mine)
        assert island.duplicates == sum(ps.duplicate_of is not None for ps in mine)
        assert island.ok == len(ok)
        assert island.best_score == min(ps.evaluations[Split.TRAIN].score for ps in ok)
        assert island.last_generation == max(ps.program.generation for ps in mine)
    assert sum(i.programs for i in digest.islands) == len(state.programs)


def test_pareto_points_use_mean_instance_seconds(digest: RunDigest, store: Archive,
                                                 browser_archive: BrowserArchive) -> None:
    state = store.run_state(browser_archive.main.run_id)
    expected = {}
    for ps in state.programs:
        ev = ps.evaluations.get(Split.TRAIN)
        if ps.duplicate_of is None and ev is not None and ev.status is EvaluationStatus.OK:
            times = [r.seconds for r in ev.per_instance if r.seconds is not None]
            expected[ps.id] = (ev.gap, sum(times) / len(times))
    got = {p.program_id: (p.gap, p.runtime) for p in digest.points}
    assert got.keys() == expected.keys()
    for pid, (gap, runtime) in got.items():
        assert gap == expected[pid][0]
        assert runtime == pytest.approx(expected[pid][1], rel=1e-12)
    assert digest.front and set(p.program_id for p in digest.front) <= got.keys()


def test_top_programs_match_the_store_ranking(digest: RunDigest, store: Archive,
                                              browser_archive: BrowserArchive) -> None:
    for split, top in ((Split.TRAIN, digest.top_train), (Split.VALIDATION, digest.top_validation)):
        ranked = store.best(browser_archive.main.run_id, split, top=10)
        assert [(t.program_id, t.score) for t in top] == [
            (r.summary.id, r.evaluation.score) for r in ranked]
    assert {p.program_id for p in digest.validation} == set(browser_archive.main.validated)


def test_baselines_come_from_the_config_snapshot(digest: RunDigest) -> None:
    assert [b.name for b in digest.baselines] == ["edd", "mdd", "psk", "mddc", "aug_mddc"]
    assert baselines_of({"baselines": [{"name": "x", "train_gap": "bad"}, {"no": "name"}, 3]}
                        )[0].train_gap is None
    assert baselines_of({"baselines": "nonsense"}) == ()
    assert baselines_of({}) == ()


def test_mean_seconds_reads_json_text_and_decoded_lists() -> None:
    text = '[{"i":"a\\"t\\":9","t":0.5},{"i":"b","t":1e-05,"e":"\\"t\\": 7"},{"i":"c"}]'
    assert mean_seconds(text) == pytest.approx((0.5 + 1e-05) / 2)
    assert mean_seconds([{"i": "a", "t": 2.0}, {"i": "b"}]) == 2.0
    assert mean_seconds("[]") is None and mean_seconds(None) is None
