"""An archive with the shapes that crowded the browser's pages (issue 19, browser polish).

* the run's classic heuristics score within a few tenths of a per cent of each
  other (mdd, spt, psk, wspt, mddc, ...), on a log-scaled score chart;
* two programs evaluated on 300 instances that differ on only five of them;
* one parent with forty direct children, two per generation over twenty
  generations (a seed that stays the best parent for a long time).
"""

from __future__ import annotations

from dataclasses import dataclass

from archive import (
    Archive,
    EdgeRole,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    Parent,
    Program,
    Split,
)

BASELINES = (("edd", 31.0), ("mdd", 7.9), ("spt", 7.6), ("psk", 6.4), ("wspt", 6.1),
             ("mddc", 4.9), ("aug_mddc", 3.2))
"""Names and train gaps: five of them within 3 % of the chart's height of a neighbour."""
INSTANCES = 300
DIFFERING = (17, 80, 150, 222, 299)
"""Indices of the instances where program B's outcome differs from A's."""
GENERATIONS, PER_GENERATION = 20, 2

CODE = "def schedule(processing_times, due_dates):\n    return sorted(range(len(due_dates)))\n"


@dataclass(frozen=True)
class Shapes:
    """Ids in the shapes archive."""

    run_id: int
    parent: int
    children: tuple[int, ...]
    a: int
    b: int
    differing: tuple[str, ...]
    """Instance names where A and B differ, in instance order."""


def _name(k: int) -> str:
    return f"inst-{k:03d}"


def _evaluation(score: float, results: list[InstanceResult]) -> Evaluation:
    return Evaluation(Split.TRAIN, EvaluationStatus.OK, score=score, gap=score, seconds=0.5,
                      per_instance=tuple(results))


def _small(score: float) -> Evaluation:
    return _evaluation(score, [InstanceResult(_name(k), objective=100.0 + score, gap=score,
                                              seconds=1e-4) for k in range(3)])


def build_shapes(store: Archive) -> Shapes:
    """Write the shapes run into ``store``."""
    run = store.create_run("smtt", {"baselines": [
        {"name": n, "train_gap": g, "validation_gap": None, "runtime": 1e-4 * (k + 1)}
        for k, (n, g) in enumerate(BASELINES)]}, seed=0, budget=50)
    same = [InstanceResult(_name(k), objective=1000.0 + k, gap=round(k / 100, 2), seconds=1e-4)
            for k in range(INSTANCES)]
    a = store.record_candidate(run, Program(CODE + "# A\n", "seed", 0, 0, idea="A"),
                               evaluations=[_evaluation(1.5, same)])
    other = list(same)
    for n, k in enumerate(DIFFERING):
        if n == 2:  # one failure among the differences
            other[k] = InstanceResult(_name(k), status=EvaluationStatus.TIMEOUT, error="timeout")
        else:
            objective, gap = 1000.0 + k, round(k / 100, 2)
            other[k] = InstanceResult(_name(k), objective=objective + 10 * (n - 2),
                                      gap=gap + n - 2, seconds=1e-4)
    b = store.record_candidate(run, Program(CODE + "# B\n", "seed", 0, 0, idea="B"),
                               evaluations=[_evaluation(1.6, other)])
    parent = store.record_candidate(run, Program(CODE, "seed", 0, 0, idea="the parent"),
                                    evaluations=[_small(60.0)])
    children = []
    for generation in range(1, GENERATIONS + 1):
        for k in range(PER_GENERATION):
            score = 60.0 * 0.85 ** generation + k
            children.append(store.record_candidate(
                run, Program(CODE + f"# child {generation}.{k}\n", "modify", k, generation,
                             idea=f"child {generation}.{k}"),
                parents=[Parent(parent, EdgeRole.MUTATION)], evaluations=[_small(score)]))
    return Shapes(run, parent, tuple(children), a, b, tuple(_name(k) for k in DIFFERING))
