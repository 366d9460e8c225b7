"""Everything a discovery loop needs to resume a run, read from the archive alone.

The loop rebuilds its population (island, generation, score of every program),
its deduplication sets (code and behaviour hashes), its counters and its
random state (``run.seed`` plus the number of programs already drawn) from a
:class:`RunState`. Nothing here is a checkpoint that could disagree with the
rows: the state *is* the rows, read in one transaction so a concurrent writer
cannot make it inconsistent.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.convert import to_evaluation, to_program
from archive.counters import run_counters
from archive.models import EvaluationRow, LineageEdgeRow, ProgramRow
from archive.queries import get_run
from archive.records import Evaluation, Parent, Split
from archive.views import ProgramState, RunState


def run_state(session: Session, run_id: int, *, per_instance: bool = True) -> RunState:
    """Read the state of run ``run_id``.

    Parameters
    ----------
    session
        An open session; all reads share its transaction (one snapshot).
    run_id
        The run.
    per_instance
        Include per-instance results in the evaluations (the loop needs them to
        rebuild behaviour signatures; listings do not).

    Raises
    ------
    NotFoundError
        If the run does not exist.
    """
    run = get_run(session, run_id)
    parents: dict[int, list[Parent]] = defaultdict(list)
    for child_id, parent_id, role in session.execute(
        sa.select(LineageEdgeRow.child_id, LineageEdgeRow.parent_id, LineageEdgeRow.role)
        .join(ProgramRow, ProgramRow.id == LineageEdgeRow.child_id)
        .where(ProgramRow.run_id == run_id)
        .order_by(LineageEdgeRow.id)
    ):
        parents[child_id].append(Parent(parent_id, role))
    evaluations: dict[int, dict[Split, Evaluation]] = defaultdict(dict)
    for row in session.scalars(
        sa.select(EvaluationRow)
        .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
        .where(ProgramRow.run_id == run_id)
    ):
        evaluations[row.program_id][row.split] = to_evaluation(row, per_instance=per_instance)
    programs = tuple(
        ProgramState(
            id=row.id,
            program=to_program(row),
            parents=tuple(parents.get(row.id, ())),
            duplicate_of=row.duplicate_of,
            evaluations={s: evaluations[row.id][s] for s in Split if s in evaluations[row.id]},
            created_at=row.created_at,
        )
        for row in session.scalars(
            sa.select(ProgramRow).where(ProgramRow.run_id == run_id).order_by(ProgramRow.id))
    )
    return RunState(run=run, programs=programs, counters=run_counters(session, [run_id])[run_id])
