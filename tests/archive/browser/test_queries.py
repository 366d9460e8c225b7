"""Runs list, programs table and lineage subgraphs against the store API."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from archive import Archive, EvaluationStatus, Split
from archive.browser import BrowserApp
from archive.browser.lineage import neighbourhood
from archive.browser.lineage_svg import layout
from archive.browser.programs_table import (
    PAGE_SIZE,
    Outcome,
    ProgramsQuery,
    SortKey,
    programs_page,
)
from archive.browser.runs_list import config_models, list_runs
from tests.archive.browser.conftest import HOSTILE_PROBLEM, BrowserArchive


@pytest.fixture
def session(app: BrowserApp):  # type: ignore[no-untyped-def]
    with Session(app.archive.engine) as s:
        yield s


def test_runs_list_matches_the_store(session: Session, store: Archive,
                                     browser_archive: BrowserArchive) -> None:
    entries = {e.run.id: e for e in list_runs(session)}
    assert list(entries) == [r.run.id for r in store.runs()]  # newest first
    for summary in store.runs():
        entry = entries[summary.run.id]
        state = store.run_state(summary.run.id)
        assert entry.evaluated == summary.counters.evaluated
        assert entry.duplicates == summary.counters.duplicates
        for split in (Split.TRAIN, Split.VALIDATION):
            gaps = {ps.id: ps.evaluations[split].gap for ps in state.programs
                    if split in ps.evaluations
                    and ps.evaluations[split].status is EvaluationStatus.OK
                    and ps.evaluations[split].gap is not None}
            if not gaps:
                assert split not in entry.best_gap
                continue
            best = min(gaps.values())
            assert entry.best_gap[split] == best
            assert entry.best_program[split] == min(p for p, g in gaps.items() if g == best)
    main = entries[browser_archive.main.run_id]
    assert main.models == ("openai:gpt-4.1-mini",)
    assert main.budget_used == pytest.approx(main.evaluated / 120)
    assert entries[browser_archive.other_run].run.problem == HOSTILE_PROBLEM


def test_models_fall_back_to_the_calls() -> None:
    assert config_models({"llm": {"models": [{"spec": "anthropic:claude"}, {"weight": 1}]}}) == (
        "anthropic:claude",)
    assert config_models({"llm": "weird"}) == () and config_models({}) == ()


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("outcome", list(Outcome))
def test_programs_table_filters_sorts_and_pages(session: Session, store: Archive,
                                                browser_archive: BrowserArchive,
                                                sort: SortKey, outcome: Outcome) -> None:
    run_id = browser_archive.main.run_id
    state = store.run_state(run_id, per_instance=False)

    def keep(ps) -> bool:  # type: ignore[no-untyped-def]
        train = ps.evaluations.get(Split.TRAIN)
        return {Outcome.ANY: True,
                Outcome.OK: train is not None and train.status is EvaluationStatus.OK,
                Outcome.FAILED: train is not None and train.status is not EvaluationStatus.OK,
                Outcome.DUPLICATE: ps.duplicate_of is not None}[outcome]

    def score(ps, split: Split) -> float | None:  # type: ignore[no-untyped-def]
        ev = ps.evaluations.get(split)
        return ev.score if ev is not None and ev.status is EvaluationStatus.OK else None

    chosen = [ps for ps in state.programs if keep(ps)]
    if sort is not SortKey.ID:
        split = Split(sort.value)
        chosen.sort(key=lambda ps: (score(ps, split) is None, score(ps, split) or 0.0, ps.id))
    page = programs_page(session, run_id, ProgramsQuery(page=1, sort=sort, outcome=outcome))
    assert page.total == len(chosen)
    assert [r.id for r in page.rows] == [ps.id for ps in chosen[:PAGE_SIZE]]
    if page.pages > 1:
        second = programs_page(session, run_id, ProgramsQuery(page=2, sort=sort,
                                                              outcome=outcome))
        assert [r.id for r in second.rows] == [ps.id for ps in chosen[PAGE_SIZE:2 * PAGE_SIZE]]


def test_programs_table_island_filter(session: Session, store: Archive,
                                      browser_archive: BrowserArchive) -> None:
    run_id = browser_archive.main.run_id
    state = store.run_state(run_id, per_instance=False)
    page = programs_page(session, run_id, ProgramsQuery(island=2))
    assert [r.id for r in page.rows] == [ps.id for ps in state.programs
                                         if ps.program.island == 2][:PAGE_SIZE]
    with pytest.raises(ValueError):
        ProgramsQuery(page=0)


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_neighbourhood_equals_the_store_lineage(session: Session, store: Archive,
                                                browser_archive: BrowserArchive,
                                                depth: int) -> None:
    for pid in browser_archive.main.program_ids[10::23]:
        graph = neighbourhood(session, [pid], ancestors=True, descendants=True,
                              max_nodes=10_000, max_depth=depth)
        truth = store.lineage(pid, max_depth=depth)
        assert set(graph.nodes) == set(truth.nodes)
        assert not graph.truncated
        edges = {(e.parent, e.child, e.role) for e in graph.edges}
        assert {(e.parent_id, e.child_id, e.role)
                for e in truth.ancestors + truth.descendants} <= edges
        for e in graph.edges:
            assert e.parent in graph.nodes and e.child in graph.nodes
        for node in graph.nodes.values():
            assert node.score == truth.nodes[node.id].scores.get(Split.TRAIN)


def test_neighbourhood_respects_the_node_cap(session: Session,
                                             browser_archive: BrowserArchive) -> None:
    seeds = list(browser_archive.main.program_ids[:3])
    graph = neighbourhood(session, seeds, ancestors=False, descendants=True, max_nodes=25)
    assert len(graph.nodes) == 25 and graph.truncated


def test_layout_never_puts_a_node_on_an_edge_of_its_row(session: Session,
                                                        browser_archive: BrowserArchive) -> None:
    ids = browser_archive.main.program_ids
    graph = neighbourhood(session, list(ids[-10:]), ancestors=True, descendants=True,
                          max_nodes=200)
    where = layout(graph)
    assert len(set(where.values())) == len(where)  # no two nodes on one spot
    for e in graph.edges:
        (x0, y0), (x1, y1) = where[e.parent], where[e.child]
        assert x0 < x1  # parents are older: generations run left to right
        if y0 == y1:  # a straight edge: nothing of its row in between
            assert not [n for n, (x, y) in where.items() if y == y0 and x0 < x < x1]
