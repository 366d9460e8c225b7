"""Run counters derived from rows with a few grouped queries (nothing is stored).

Deriving instead of storing means a counter can never disagree with the rows
it counts — the failure mode behind resumed runs that miscount generations or
programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.models import EvaluationRow, ModelCallRow, ProgramRow
from archive.records import EvaluationStatus, Split
from archive.views import RunCounters

T = TypeVar("T")


def run_counters(session: Session, run_ids: Sequence[int]) -> dict[int, RunCounters]:
    """Counters of each run in ``run_ids`` (runs without rows get zeros)."""
    if not run_ids:
        return {}
    ids = list(run_ids)
    programs = {
        row.run_id: row for row in session.execute(
            sa.select(
                ProgramRow.run_id,
                sa.func.count().label("total"),
                sa.func.count(ProgramRow.duplicate_of).label("duplicates"),
                sa.func.max(ProgramRow.generation).label("max_generation"),
            ).where(ProgramRow.run_id.in_(ids)).group_by(ProgramRow.run_id)
        )
    }
    evaluations: dict[int, dict[Split, int]] = {i: {} for i in ids}
    failed: dict[int, dict[Split, int]] = {i: {} for i in ids}
    for row in session.execute(
        sa.select(
            ProgramRow.run_id,
            EvaluationRow.split,
            sa.func.count().label("total"),
            sa.func.sum(sa.case((EvaluationRow.status != EvaluationStatus.OK, 1), else_=0))
            .label("failed"),
        )
        .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
        .where(ProgramRow.run_id.in_(ids))
        .group_by(ProgramRow.run_id, EvaluationRow.split)
    ):
        evaluations[row.run_id][row.split] = int(row.total)
        failed[row.run_id][row.split] = int(row.failed or 0)
    calls = {
        row.run_id: row for row in session.execute(
            sa.select(
                ModelCallRow.run_id,
                sa.func.count().label("total"),
                sa.func.sum(sa.case((ModelCallRow.program_id.is_(None), 1), else_=0))
                .label("orphans"),
                sa.func.count(ModelCallRow.error).label("errors"),
                sa.func.coalesce(sa.func.sum(ModelCallRow.tokens_in), 0).label("tokens_in"),
                sa.func.coalesce(sa.func.sum(ModelCallRow.tokens_out), 0).label("tokens_out"),
                sa.func.coalesce(sa.func.sum(ModelCallRow.cost), 0.0).label("cost"),
            ).where(ModelCallRow.run_id.in_(ids)).group_by(ModelCallRow.run_id)
        )
    }
    out = {}
    for run_id in ids:
        p = programs.get(run_id)
        c = calls.get(run_id)
        out[run_id] = RunCounters(
            evaluated=int(p.total - p.duplicates) if p else 0,
            duplicates=int(p.duplicates) if p else 0,
            evaluations=_ordered(evaluations[run_id]),
            failed=_ordered(failed[run_id]),
            model_calls=int(c.total) if c else 0,
            calls_without_program=int(c.orphans or 0) if c else 0,
            calls_with_error=int(c.errors) if c else 0,
            tokens_in=int(c.tokens_in) if c else 0,
            tokens_out=int(c.tokens_out) if c else 0,
            cost=float(c.cost) if c else 0.0,
            max_generation=int(p.max_generation) if p and p.max_generation is not None else None,
        )
    return out


def best_scores(session: Session, run_ids: Sequence[int]) -> dict[int, dict[Split, float]]:
    """Lowest OK score per run and split."""
    out: dict[int, dict[Split, float]] = {i: {} for i in run_ids}
    if not run_ids:
        return out
    for row in session.execute(
        sa.select(ProgramRow.run_id, EvaluationRow.split,
                  sa.func.min(EvaluationRow.score).label("best"))
        .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
        .where(ProgramRow.run_id.in_(list(run_ids)),
               EvaluationRow.status == EvaluationStatus.OK,
               EvaluationRow.score.is_not(None))
        .group_by(ProgramRow.run_id, EvaluationRow.split)
    ):
        out[row.run_id][row.split] = float(row.best)
    for run_id in out:
        out[run_id] = _ordered(out[run_id])
    return out


def _ordered(values: dict[Split, T]) -> dict[Split, T]:
    return {s: values[s] for s in Split if s in values}
