"""Read-side queries behind :class:`archive.Archive` and ``discover archive``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.convert import to_evaluation, to_model_call, to_program, to_run
from archive.counters import best_scores, run_counters
from archive.errors import NotFoundError
from archive.models import EvaluationRow, LineageEdgeRow, ModelCallRow, ProgramRow, RunRow
from archive.records import EvaluationStatus, Parent, Split
from archive.views import (
    CodeDiff,
    Lineage,
    LineageEdge,
    ProgramDetail,
    ProgramSummary,
    RankedProgram,
    RunRecord,
    RunSummary,
)

_CHUNK = 500  # ids per IN (...) clause


def get_run(session: Session, run_id: int) -> RunRecord:
    """The run ``run_id``; :class:`NotFoundError` if there is none."""
    row = session.get(RunRow, run_id)
    if row is None:
        raise NotFoundError(f"no run {run_id}")
    return to_run(row)


def list_runs(session: Session) -> list[RunSummary]:
    """All runs, newest first."""
    runs = [to_run(r) for r in session.scalars(sa.select(RunRow).order_by(RunRow.id.desc()))]
    ids = [r.id for r in runs]
    counters = run_counters(session, ids)
    best = best_scores(session, ids)
    return [RunSummary(run=r, counters=counters[r.id], best=best[r.id]) for r in runs]


def _program_row(session: Session, program_id: int) -> ProgramRow:
    row = session.get(ProgramRow, program_id)
    if row is None:
        raise NotFoundError(f"no program {program_id}")
    return row


def program_detail(session: Session, program_id: int) -> ProgramDetail:
    """Everything about one program."""
    row = _program_row(session, program_id)
    parents = tuple(
        Parent(e.parent_id, e.role) for e in session.scalars(
            sa.select(LineageEdgeRow).where(LineageEdgeRow.child_id == program_id)
            .order_by(LineageEdgeRow.id))
    )
    children = tuple(session.scalars(
        sa.select(LineageEdgeRow.child_id).where(LineageEdgeRow.parent_id == program_id)
        .distinct().order_by(LineageEdgeRow.child_id)
    ))
    evaluations = {
        e.split: to_evaluation(e) for e in session.scalars(
            sa.select(EvaluationRow).where(EvaluationRow.program_id == program_id))
    }
    calls = tuple(to_model_call(c) for c in session.scalars(
        sa.select(ModelCallRow).where(ModelCallRow.program_id == program_id)
        .order_by(ModelCallRow.id)))
    return ProgramDetail(
        id=row.id,
        run_id=row.run_id,
        program=to_program(row),
        created_at=row.created_at,
        duplicate_of=row.duplicate_of,
        parents=parents,
        children=children,
        evaluations={s: evaluations[s] for s in Split if s in evaluations},
        model_calls=calls,
    )


def summaries(session: Session, program_ids: Iterable[int]) -> dict[int, ProgramSummary]:
    """Code-free summaries of programs, with their score per evaluated split."""
    ids = sorted(set(program_ids))
    scores: dict[int, dict[Split, float | None]] = {i: {} for i in ids}
    rows: list[tuple[int, int, str, int, int, str | None, int | None]] = []
    for chunk in _chunks(ids):
        rows.extend(session.execute(
            sa.select(ProgramRow.id, ProgramRow.run_id, ProgramRow.operator, ProgramRow.island,
                      ProgramRow.generation, ProgramRow.idea, ProgramRow.duplicate_of)
            .where(ProgramRow.id.in_(chunk))
        ))
        for pid, split, status, score in session.execute(
            sa.select(EvaluationRow.program_id, EvaluationRow.split, EvaluationRow.status,
                      EvaluationRow.score).where(EvaluationRow.program_id.in_(chunk))
        ):
            scores[pid][split] = score if status is EvaluationStatus.OK else None
    return {
        pid: ProgramSummary(
            id=pid, run_id=run_id, operator=operator, island=island, generation=generation,
            idea=idea, duplicate_of=duplicate_of,
            scores={s: scores[pid][s] for s in Split if s in scores[pid]},
        )
        for pid, run_id, operator, island, generation, idea, duplicate_of in rows
    }


def lineage(session: Session, program_id: int, max_depth: int | None = None) -> Lineage:
    """Ancestors and descendants, breadth first, each edge at its shortest depth.

    Walks level by level (one query per generation of edges) rather than with a
    recursive CTE, whose rows multiply with every diamond in a crossover-heavy
    lineage; each edge is visited once.
    """
    _program_row(session, program_id)
    ancestors = _walk(session, program_id, max_depth, upward=True)
    descendants = _walk(session, program_id, max_depth, upward=False)
    ids = {program_id}
    for edge in ancestors + descendants:
        ids.update((edge.parent_id, edge.child_id))
    return Lineage(program_id=program_id, ancestors=ancestors, descendants=descendants,
                   nodes=summaries(session, ids))


def _walk(session: Session, start: int, max_depth: int | None, *, upward: bool
          ) -> tuple[LineageEdge, ...]:
    near = LineageEdgeRow.child_id if upward else LineageEdgeRow.parent_id
    seen = {start}
    frontier = [start]
    edges: list[LineageEdge] = []
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        found: list[int] = []
        for chunk in _chunks(frontier):
            for parent_id, child_id, role in session.execute(
                sa.select(LineageEdgeRow.parent_id, LineageEdgeRow.child_id, LineageEdgeRow.role)
                .where(near.in_(chunk)).order_by(LineageEdgeRow.id)
            ):
                edges.append(LineageEdge(parent_id, child_id, role, depth))
                node = parent_id if upward else child_id
                if node not in seen:
                    seen.add(node)
                    found.append(node)
        frontier = found
    return tuple(edges)


def best(session: Session, run_id: int, split: Split, top: int) -> list[RankedProgram]:
    """The ``top`` OK programs of a run on ``split``, lowest score first (ties: oldest)."""
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    get_run(session, run_id)
    rows = list(session.scalars(
        sa.select(EvaluationRow)
        .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
        .where(ProgramRow.run_id == run_id, EvaluationRow.split == split,
               EvaluationRow.status == EvaluationStatus.OK, EvaluationRow.score.is_not(None))
        .order_by(EvaluationRow.score, ProgramRow.id)
        .limit(top)
    ))
    info = summaries(session, [r.program_id for r in rows])
    return [RankedProgram(rank=k, summary=info[r.program_id], evaluation=to_evaluation(r))
            for k, r in enumerate(rows, start=1)]


def diff(session: Session, a: int, b: int, context: int = 3) -> CodeDiff:
    """Unified diff from program ``a`` to program ``b``."""
    code_a = _program_row(session, a).code
    code_b = _program_row(session, b).code
    lines = list(difflib.unified_diff(
        code_a.splitlines(keepends=True), code_b.splitlines(keepends=True),
        fromfile=f"program {a}", tofile=f"program {b}", n=context,
    ))
    # A last line without a newline would glue onto the next one in the output.
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    body = lines[2:]  # after the two file headers, only hunks: "@@", " ", "+", "-"
    return CodeDiff(a=a, b=b, unified=text,
                    added=sum(1 for line in body if line.startswith("+")),
                    removed=sum(1 for line in body if line.startswith("-")))


def find_programs(session: Session, run_id: int, code_hash: str | None,
                  behaviour_hash: str | None) -> list[int]:
    """Ids of a run's programs matching the given hashes, oldest first."""
    if code_hash is None and behaviour_hash is None:
        raise ValueError("give code_hash, behaviour_hash or both")
    query = sa.select(ProgramRow.id).where(ProgramRow.run_id == run_id)
    if code_hash is not None:
        query = query.where(ProgramRow.code_hash == code_hash)
    if behaviour_hash is not None:
        query = query.where(ProgramRow.behaviour_hash == behaviour_hash)
    return list(session.scalars(query.order_by(ProgramRow.id)))


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])
