"""What the run page shows, computed from two narrow queries over the run's programs.

One query reads a row per program (ids, island, generation, duplicate link and
the train evaluation's status and score — no code, no per-instance JSON), one
reads the validation evaluations; the score curves, the failure mix, the
island table and the Pareto front are derived from those rows in one pass.
Per-instance runtimes come from :class:`archive.browser.runtimes.RuntimeCache`.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.counters import run_counters
from archive.models import EvaluationRow, ProgramRow
from archive.queries import get_run
from archive.records import EvaluationStatus, Split
from archive.views import RunCounters, RunRecord

DUPLICATE = "duplicate"
UNEVALUATED = "unevaluated"
CATEGORIES = (*(s.value for s in EvaluationStatus), DUPLICATE, UNEVALUATED)
"""Failure-mix categories, in legend order: evaluation statuses, then non-evaluations."""


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


@dataclass(frozen=True)
class FrontPoint:
    """A program on the gap-vs-runtime plane (runtime: mean seconds per instance)."""

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


def top_programs(session: Session, run_id: int, split: Split, top: int
                 ) -> tuple[TopProgram, ...]:
    """The ``top`` OK programs on ``split``, lowest score first (ties: oldest).

    Selects only narrow columns, so SQLite sorts small records rather than whole
    evaluation rows with their per-instance JSON.
    """
    rows = session.connection().execute(
        sa.select(ProgramRow.id, EvaluationRow.score, EvaluationRow.gap, ProgramRow.island,
                  ProgramRow.generation, ProgramRow.operator)
        .join(EvaluationRow, EvaluationRow.program_id == ProgramRow.id)
        .where(ProgramRow.run_id == run_id, EvaluationRow.split == split,
               EvaluationRow.status == EvaluationStatus.OK, EvaluationRow.score.is_not(None))
        .order_by(EvaluationRow.score, ProgramRow.id).limit(top)
    ).all()
    return tuple(TopProgram(k, pid, float(score or 0.0), gap, island, generation, operator)
                 for k, (pid, score, gap, island, generation, operator) in enumerate(rows, 1))


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
    for p in sorted(points, key=lambda q: (q.runtime, q.gap, q.program_id)):
        if not front or p.gap < front[-1].gap:
            front.append(p)
    return tuple(front)


def _buckets(n: int, count: int) -> list[tuple[int, int]]:
    """``count`` (or fewer) contiguous 0-based [start, stop) ranges covering ``n`` items."""
    count = max(1, min(count, n))
    edges = [round(k * n / count) for k in range(count + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def _islands(rows: Sequence[Any]) -> tuple[IslandStats, ...]:
    # [programs, evaluated, ok, failed, duplicates, best score, best id, last generation]
    state: dict[int, list[Any]] = {}
    ok_value = EvaluationStatus.OK.value
    for pid, island, generation, duplicate_of, _, status, score, _ in rows:
        s = state.get(island)
        if s is None:
            s = state[island] = [0, 0, 0, 0, 0, None, None, 0]
        s[0] += 1
        if generation > s[7]:
            s[7] = generation
        if duplicate_of is not None:
            s[4] += 1
        elif status == ok_value and score is not None:
            s[1] += 1
            s[2] += 1
            if s[5] is None or score < s[5]:
                s[5], s[6] = score, pid
        else:
            s[1] += 1
            s[3] += status is not None
    return tuple(IslandStats(k, *v) for k, v in sorted(state.items()))


def build_digest(session: Session, run_id: int, runtimes: Mapping[int, float], *,
                 buckets: int = 40, top: int = 10) -> RunDigest:
    """Compute the run page's figures for ``run_id`` (raises NotFoundError if unknown)."""
    run = get_run(session, run_id)
    train = sa.and_(EvaluationRow.program_id == ProgramRow.id, EvaluationRow.split == Split.TRAIN)
    # Statuses as plain strings: converting 10,000 of them to enums is measurable.
    rows = session.connection().execute(
        sa.select(ProgramRow.id, ProgramRow.island, ProgramRow.generation,
                  ProgramRow.duplicate_of, EvaluationRow.id,
                  sa.type_coerce(EvaluationRow.status, sa.String),
                  EvaluationRow.score, EvaluationRow.gap)
        .outerjoin(EvaluationRow, train)
        .where(ProgramRow.run_id == run_id).order_by(ProgramRow.id)
    ).all()
    ok_value = EvaluationStatus.OK.value
    categories: list[str] = []
    eval_ids: list[int] = []  # train evaluation ids of evaluated programs, in order
    steps: list[ScorePoint] = []
    scores: list[float | None] = []
    points: list[FrontPoint] = []
    best_score = float("inf")
    for pid, _, _, duplicate_of, eval_id, status, score, gap in rows:
        if duplicate_of is not None:
            categories.append(DUPLICATE)
            continue
        categories.append(status or UNEVALUATED)
        if eval_id is not None:
            eval_ids.append(eval_id)
        if status != ok_value or score is None:
            scores.append(None)
            continue
        scores.append(score)
        if score < best_score:
            best_score = score
            steps.append(ScorePoint(len(scores), float(score), pid))
        if gap is not None:
            runtime = runtimes.get(pid)
            if runtime is not None:
                points.append(FrontPoint(pid, float(gap), runtime))
    if steps and steps[-1].x != len(scores):
        steps.append(ScorePoint(len(scores), steps[-1].y, steps[-1].program_id))
    median = []
    for a, b in _buckets(len(scores), buckets):
        ok_scores = [s for s in scores[a:b] if s is not None]
        if ok_scores:
            median.append((b, float(statistics.median(ok_scores))))
    mix = []
    for a, b in _buckets(len(categories), buckets):
        counts = Counter(categories[a:b])
        mix.append(MixBucket(a + 1, b, {c: counts[c] for c in CATEGORIES if counts[c]}))
    validation = [
        ScorePoint(bisect.bisect_left(eval_ids, eval_id), float(score or 0.0), pid)
        for eval_id, pid, score in session.connection().execute(
            sa.select(EvaluationRow.id, EvaluationRow.program_id, EvaluationRow.score)
            .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
            .where(ProgramRow.run_id == run_id, EvaluationRow.split == Split.VALIDATION,
                   EvaluationRow.status == EvaluationStatus.OK, EvaluationRow.score.is_not(None))
            .order_by(EvaluationRow.id))
    ]
    return RunDigest(
        run=run, counters=run_counters(session, [run_id])[run_id], programs=len(rows),
        train_best=tuple(steps), train_median=tuple(median), validation=tuple(validation),
        mix=tuple(mix), islands=_islands(rows),
        points=tuple(points), front=pareto_front(points), baselines=baselines_of(run.config),
        top_train=top_programs(session, run_id, Split.TRAIN, top),
        top_validation=top_programs(session, run_id, Split.VALIDATION, top),
    )
