"""The runs list: one grouped query per figure, never a row per program in Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.convert import to_run
from archive.models import EvaluationRow, ModelCallRow, ProgramRow, RunRow
from archive.records import EvaluationStatus, Split
from archive.views import RunRecord


@dataclass(frozen=True)
class RunListEntry:
    """One line of the runs list.

    ``best_gap`` holds the lowest mean gap (%) among OK evaluations per split,
    with the program that reached it in ``best_program``.
    """

    run: RunRecord
    models: tuple[str, ...]
    programs: int
    evaluated: int
    duplicates: int
    best_gap: Mapping[Split, float]
    best_program: Mapping[Split, int]

    @property
    def budget_used(self) -> float | None:
        """Share of the budget spent (evaluated programs / budget), if there is a budget."""
        if not self.run.budget:
            return None
        return self.evaluated / self.run.budget


def config_models(config: Mapping[str, Any]) -> tuple[str, ...]:
    """Model specs named in a run's config snapshot (``llm.models[].spec``), if any."""
    llm = config.get("llm")
    models = llm.get("models") if isinstance(llm, Mapping) else None
    if not isinstance(models, Sequence) or isinstance(models, str):
        return ()
    specs = [m.get("spec") for m in models if isinstance(m, Mapping)]
    return tuple(str(s) for s in specs if s)


def called_models(session: Session, run_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """``provider/model`` of the calls each run made (for runs without models in the config)."""
    out: dict[int, list[str]] = {r: [] for r in run_ids}
    if run_ids:
        for run_id, provider, model in session.connection().execute(
            sa.select(ModelCallRow.run_id, ModelCallRow.provider, ModelCallRow.model)
            .where(ModelCallRow.run_id.in_(list(run_ids))).distinct()
            .order_by(ModelCallRow.run_id, ModelCallRow.provider, ModelCallRow.model)
        ):
            out[run_id].append(f"{provider}/{model}")
    return {r: tuple(v) for r, v in out.items()}


def best_gaps(session: Session, run_ids: Sequence[int]
              ) -> tuple[dict[int, dict[Split, float]], dict[int, dict[Split, int]]]:
    """Lowest OK mean gap per run and split, and the (oldest) program that reached it."""
    gaps: dict[int, dict[Split, float]] = {r: {} for r in run_ids}
    holders: dict[int, dict[Split, int]] = {r: {} for r in run_ids}
    if not run_ids:
        return gaps, holders
    ok = sa.and_(EvaluationRow.status == EvaluationStatus.OK, EvaluationRow.gap.is_not(None))
    lowest = (
        sa.select(ProgramRow.run_id, EvaluationRow.split,
                  sa.func.min(EvaluationRow.gap).label("gap"))
        .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
        .where(ProgramRow.run_id.in_(list(run_ids)), ok)
        .group_by(ProgramRow.run_id, EvaluationRow.split)
        .subquery()
    )
    for run_id, split, gap, program_id in session.connection().execute(
        sa.select(lowest.c.run_id, lowest.c.split, lowest.c.gap,
                  sa.func.min(EvaluationRow.program_id))
        .join(ProgramRow, ProgramRow.run_id == lowest.c.run_id)
        .join(EvaluationRow, sa.and_(EvaluationRow.program_id == ProgramRow.id,
                                     EvaluationRow.split == lowest.c.split,
                                     EvaluationRow.gap == lowest.c.gap))
        .where(ok)
        .group_by(lowest.c.run_id, lowest.c.split, lowest.c.gap)
    ):
        split = Split(split) if not isinstance(split, Split) else split
        gaps[run_id][split] = float(gap)
        holders[run_id][split] = int(program_id)
    return gaps, holders


def list_runs(session: Session) -> list[RunListEntry]:
    """Every run, newest first, with its models, progress and best gaps."""
    runs = [to_run(r) for r in session.scalars(sa.select(RunRow).order_by(RunRow.id.desc()))]
    ids = [r.id for r in runs]
    counts = {
        run_id: (int(total), int(duplicates))
        for run_id, total, duplicates in session.connection().execute(
            sa.select(ProgramRow.run_id, sa.func.count(),
                      sa.func.count(ProgramRow.duplicate_of))
            .where(ProgramRow.run_id.in_(ids)).group_by(ProgramRow.run_id))
    } if ids else {}
    gaps, holders = best_gaps(session, ids)
    missing = [r.id for r in runs if not config_models(r.config)]
    called = called_models(session, missing)
    out = []
    for run in runs:
        total, duplicates = counts.get(run.id, (0, 0))
        out.append(RunListEntry(
            run=run, models=config_models(run.config) or called.get(run.id, ()),
            programs=total, evaluated=total - duplicates, duplicates=duplicates,
            best_gap={s: gaps[run.id][s] for s in Split if s in gaps[run.id]},
            best_program={s: holders[run.id][s] for s in Split if s in holders[run.id]},
        ))
    return out
