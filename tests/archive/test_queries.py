"""Read side: run listings, best programs, lineage walks and code diffs."""

from __future__ import annotations

import pytest

from archive import (
    Archive,
    EdgeRole,
    EvaluationStatus,
    NotFoundError,
    Parent,
    Split,
    to_jsonable,
)
from tests.archive.conftest import make_evaluation, make_program


@pytest.fixture
def diamond(archive: Archive, run_id: int) -> dict[str, int]:
    """a → b, a → c, (b, c) → d by crossover, d → e; plus an unrelated x."""
    ids: dict[str, int] = {}
    ids["a"] = archive.record_candidate(run_id, make_program(0, operator="seed"),
                                        evaluations=[make_evaluation(Split.TRAIN, 5.0)])
    ids["x"] = archive.record_candidate(run_id, make_program(9, operator="seed"))
    for name, k in (("b", 1), ("c", 2)):
        ids[name] = archive.record_candidate(
            run_id, make_program(k, generation=1), parents=[Parent(ids["a"], EdgeRole.MUTATION)],
            evaluations=[make_evaluation(Split.TRAIN, 4.0 - k)])
    ids["d"] = archive.record_candidate(
        run_id, make_program(3, generation=2, operator="crossover"),
        parents=[Parent(ids["b"], EdgeRole.CROSSOVER), Parent(ids["c"], EdgeRole.CROSSOVER)],
        evaluations=[make_evaluation(Split.TRAIN, 1.0), make_evaluation(Split.VALIDATION, 1.5)])
    ids["e"] = archive.record_candidate(
        run_id, make_program(4, generation=3), parents=[Parent(ids["d"], EdgeRole.MUTATION)],
        evaluations=[make_evaluation(Split.TRAIN, None, status=EvaluationStatus.EXCEPTION)])
    return ids


def test_lineage_of_a_diamond(archive: Archive, diamond: dict[str, int]) -> None:
    a, b, c, d, e = (diamond[k] for k in "abcde")
    graph = archive.lineage(d)
    assert {(x.parent_id, x.child_id, x.role, x.depth) for x in graph.ancestors} == {
        (b, d, EdgeRole.CROSSOVER, 1), (c, d, EdgeRole.CROSSOVER, 1),
        (a, b, EdgeRole.MUTATION, 2), (a, c, EdgeRole.MUTATION, 2)}
    assert [(x.parent_id, x.child_id, x.depth) for x in graph.descendants] == [(d, e, 1)]
    assert set(graph.nodes) == {a, b, c, d, e}
    assert diamond["x"] not in graph.nodes
    assert graph.nodes[d].scores == {Split.TRAIN: 1.0, Split.VALIDATION: 1.5}
    assert graph.nodes[e].scores == {Split.TRAIN: None}  # failed evaluation
    # Each edge once, even though a is reached through two paths.
    down = archive.lineage(a).descendants
    assert len(down) == len({(x.parent_id, x.child_id) for x in down}) == 5
    assert max(x.depth for x in down) == 3


def test_lineage_depth_limit(archive: Archive, diamond: dict[str, int]) -> None:
    graph = archive.lineage(diamond["e"], max_depth=1)
    assert [(x.parent_id, x.depth) for x in graph.ancestors] == [(diamond["d"], 1)]
    assert graph.descendants == ()


def test_best_orders_by_score_and_skips_failures(archive: Archive, run_id: int,
                                                 diamond: dict[str, int]) -> None:
    ranked = archive.best(run_id, Split.TRAIN, top=3)
    assert [r.summary.id for r in ranked] == [diamond["d"], diamond["c"], diamond["b"]]
    assert [r.rank for r in ranked] == [1, 2, 3]
    assert ranked[0].evaluation == make_evaluation(Split.TRAIN, 1.0)
    assert [r.summary.id for r in archive.best(run_id, Split.VALIDATION)] == [diamond["d"]]
    assert archive.best(run_id, Split.TEST) == []
    other = archive.create_run("smtt", {}, seed=1)
    assert archive.best(other, Split.TRAIN) == []
    with pytest.raises(NotFoundError):
        archive.best(999, Split.TRAIN)
    with pytest.raises(ValueError):
        archive.best(run_id, Split.TRAIN, top=0)


def test_ties_go_to_the_older_program(archive: Archive, run_id: int) -> None:
    first = archive.record_candidate(run_id, make_program(0),
                                     evaluations=[make_evaluation(Split.TRAIN, 2.0)])
    archive.record_candidate(run_id, make_program(1),
                             evaluations=[make_evaluation(Split.TRAIN, 2.0)])
    assert archive.best(run_id, Split.TRAIN, top=1)[0].summary.id == first


def test_runs_listing(archive: Archive, run_id: int, diamond: dict[str, int]) -> None:
    newer = archive.create_run("smtt", {}, seed=2)
    summaries = archive.runs()
    assert [s.run.id for s in summaries] == [newer, run_id]
    mine = summaries[1]
    assert mine.counters.evaluated == 6
    assert mine.best == {Split.TRAIN: 1.0, Split.VALIDATION: 1.5}
    assert summaries[0].counters.evaluated == 0 and summaries[0].best == {}
    data = to_jsonable(summaries)
    assert data[1]["best"] == {"train": 1.0, "validation": 1.5}
    assert data[1]["run"]["status"] == "running"


def test_diff(archive: Archive, diamond: dict[str, int]) -> None:
    result = archive.diff(diamond["a"], diamond["b"])
    assert result.unified.startswith(f"--- program {diamond['a']}\n+++ program {diamond['b']}\n")
    assert (result.added, result.removed) == (2, 2)  # comment line and key line
    assert "-    # variant 0\n+    # variant 1\n" in result.unified
    same = archive.diff(diamond["a"], diamond["a"])
    assert same.identical and same.unified == ""
    with pytest.raises(NotFoundError):
        archive.diff(diamond["a"], 12345)


def test_unknown_ids(archive: Archive) -> None:
    with pytest.raises(NotFoundError):
        archive.program(1)
    with pytest.raises(NotFoundError):
        archive.lineage(1)
    with pytest.raises(NotFoundError):
        archive.run_state(1)
