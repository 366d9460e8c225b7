"""What the run page shows, derived in one pass over the run's timeline.

The timeline (:mod:`archive.browser.timeline`) holds a narrow row per program
(island, generation, duplicate link, the train evaluation's status and score —
no code, no per-instance JSON) and the run's other evaluations; the score
curves, the failure mix, the island table, the rankings and the Pareto front
are computed from it in Python. Per-instance runtimes come from
:class:`archive.browser.runtimes.RuntimeCache`.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from archive.browser.timeline import (
    CATEGORIES,
    DUPLICATE,
    UNEVALUATED,
    ProgramLine,
    RunTimeline,
)
from archive.records import EvaluationStatus, Split
from archive.views import RunCounters, RunRecord

_OK = EvaluationStatus.OK.value
__all__ = ["CATEGORIES", "DUPLICATE", "UNEVALUATED", "RunDigest", "build_digest"]


@dataclass(frozen=True)
class ScorePoint:
    """A score at a point of the run: ``x`` evaluated programs so far."""

    x: int
    y: float
    program_id: int


@dataclass(frozen=True)
class MixBucket:
    """Programs ``start``..``stop`` (recording order, 1-based) by category."""

    start: int
    stop: int
    counts: Mapping[str, int]


@dataclass(frozen=True)
class IslandStats:
    """One island's share of the run."""

    island: int
    programs: int
    evaluated: int
    ok: int
    failed: int
    duplicates: int
    best_score: float | None
    best_id: int | None
    last_generation: int


class FrontPoint(NamedTuple):
    """A program on the gap-vs-runtime plane (runtime: mean seconds per instance).

    A named tuple rather than a frozen dataclass: a run has one per successful
    program, and building and sorting ten thousand of these is on the page's
    critical path.
    """

    program_id: int
    gap: float
    runtime: float


@dataclass(frozen=True)
class Baseline:
    """A classic heuristic's scores from the run's config snapshot (``"baselines"``)."""

    name: str
    train_gap: float | None
    validation_gap: float | None
    runtime: float | None


@dataclass(frozen=True)
class TopProgram:
    """A place in a run's ranking on one split."""

    rank: int
    program_id: int
    score: float
    gap: float | None
    island: int
    generation: int
    operator: str


def top_programs(lines: Sequence[ProgramLine], scored: Sequence[tuple[int, float,
                                                                     float | None]],
                 top: int) -> tuple[TopProgram, ...]:
    """The ``top`` programs by score, lowest first, ties to the oldest (as ``Archive.best``).

    ``scored`` holds ``(program id, score, gap)`` of the OK evaluations on one split.
    """
    by_id = {line.id: line for line in lines}
    ranked = heapq.nsmallest(top, scored, key=itemgetter(1, 0))
    return tuple(TopProgram(k, pid, score, gap, by_id[pid].island, by_id[pid].generation,
                            by_id[pid].operator)
                 for k, (pid, score, gap) in enumerate(ranked, start=1) if pid in by_id)


@dataclass(frozen=True)
class RunDigest:
    """Everything the run page draws."""

    run: RunRecord
    counters: RunCounters
    programs: int
    train_best: tuple[ScorePoint, ...]
    """Running best train score, one point per improvement."""
    train_median: tuple[tuple[int, float], ...]
    """Median OK train score per bucket of evaluations (bucket end, median)."""
    validation: tuple[ScorePoint, ...]
    """Every validation evaluation in the order they were made."""
    mix: tuple[MixBucket, ...]
    islands: tuple[IslandStats, ...]
    points: tuple[FrontPoint, ...]
    """Every OK train evaluation with a measured runtime."""
    front: tuple[FrontPoint, ...]
    """Non-dominated points (lower gap and lower runtime are better), fastest first."""
    baselines: tuple[Baseline, ...]
    top_train: tuple[TopProgram, ...]
    top_validation: tuple[TopProgram, ...]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def baselines_of(config: Mapping[str, Any]) -> tuple[Baseline, ...]:
    """The ``"baselines"`` list of a config snapshot; malformed entries are skipped."""
    raw = config.get("baselines")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return ()
    out = []
    for item in raw:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            out.append(Baseline(item["name"], _number(item.get("train_gap")),
                                _number(item.get("validation_gap")),
                                _number(item.get("runtime"))))
    return tuple(out)


def pareto_front(points: Sequence[FrontPoint]) -> tuple[FrontPoint, ...]:
    """Points no other point beats on both gap and runtime (ties: the older program)."""
    front: list[FrontPoint] = []
    for p in sorted(points, key=itemgetter(2, 1, 0)):  # runtime, gap, program id
        if not front or p.gap < front[-1].gap:
            front.append(p)
    return tuple(front)


def _buckets(n: int, count: int) -> list[tuple[int, int]]:
    """``count`` (or fewer) contiguous 0-based [start, stop) ranges covering ``n`` items."""
    count = max(1, min(count, n))
    edges = [round(k * n / count) for k in range(count + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def build_digest(run: RunRecord, timeline: RunTimeline, runtimes: Mapping[int, FrontPoint], *,
                 buckets: int = 40, top: int = 10) -> RunDigest:
    """Compute the run page's figures from a run's (refreshed) timeline.

    ``runtimes`` maps program ids to their gap-vs-runtime points
    (:meth:`archive.browser.runtimes.RuntimeCache.points`).
    """
    lines = timeline.lines
    eval_ids: list[int] = []  # train evaluation ids of evaluated programs, in order
    steps: list[ScorePoint] = []
    scores: list[float | None] = []
    points: list[FrontPoint] = []
    ranked_train: list[tuple[int, float, float | None]] = []
    best_score = float("inf")
    for pid, _, _, _, duplicate_of, eval_id, status, score, gap in lines:
        if duplicate_of is not None:
            continue
        if eval_id is not None:
            eval_ids.append(eval_id)
        if status != _OK or score is None:
            scores.append(None)
            continue
        scores.append(score)
        ranked_train.append((pid, score, gap))
        if score < best_score:
            best_score = score
            steps.append(ScorePoint(len(scores), float(score), pid))
        point = runtimes.get(pid)
        if point is not None:
            points.append(point)
    if steps and steps[-1].x != len(scores):
        steps.append(ScorePoint(len(scores), steps[-1].y, steps[-1].program_id))
    median = []
    for a, b in _buckets(len(scores), buckets):
        ok_scores = [s for s in scores[a:b] if s is not None]
        if ok_scores:
            median.append((b, float(statistics.median(ok_scores))))
    prefix = timeline.prefix
    mix = [MixBucket(a + 1, b, {c: prefix[c][b] - prefix[c][a] for c in CATEGORIES
                                if prefix[c][b] > prefix[c][a]})
           for a, b in _buckets(len(lines), buckets)]
    validated = [e for e in timeline.others if e.split == Split.VALIDATION.value
                 and e.status == _OK and e.score is not None]
    validation = [ScorePoint(bisect.bisect_left(eval_ids, e.id), float(e.score or 0.0),
                             e.program_id) for e in validated]
    return RunDigest(
        run=run, counters=timeline.counters(), programs=len(lines),
        train_best=tuple(steps), train_median=tuple(median), validation=tuple(validation),
        mix=tuple(mix),
        islands=tuple(IslandStats(k, *v) for k, v in sorted(timeline.islands.items())),
        points=tuple(points), front=pareto_front(points), baselines=baselines_of(run.config),
        top_train=top_programs(lines, ranked_train, top),
        top_validation=top_programs(
            lines, [(e.program_id, float(e.score or 0.0), e.gap) for e in validated], top),
    )
