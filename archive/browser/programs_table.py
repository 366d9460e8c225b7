"""A run's programs, a page at a time, filtered and sorted in SQL (LIMIT/OFFSET)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from archive.models import EvaluationRow, ProgramRow
from archive.records import EvaluationStatus, Split

PAGE_SIZE = 100


class SortKey(enum.Enum):
    """Orders the programs table offers."""

    ID = "id"
    TRAIN = "train"
    VALIDATION = "validation"


class Outcome(enum.Enum):
    """Filter on the train outcome."""

    ANY = "any"
    OK = "ok"
    FAILED = "failed"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ProgramRowView:
    """One row of the table (no code)."""

    id: int
    island: int
    generation: int
    operator: str
    idea: str | None
    duplicate_of: int | None
    train_status: EvaluationStatus | None
    train_score: float | None
    validation_score: float | None


@dataclass(frozen=True)
class ProgramsQuery:
    """Which page of which programs, validated."""

    page: int = 1
    sort: SortKey = SortKey.ID
    outcome: Outcome = Outcome.ANY
    island: int | None = None

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValueError("page must be >= 1")
        if self.island is not None and self.island < 0:
            raise ValueError("island must be >= 0")


@dataclass(frozen=True)
class ProgramsPage:
    """A page of the table and how many pages there are."""

    query: ProgramsQuery
    rows: tuple[ProgramRowView, ...]
    total: int

    @property
    def pages(self) -> int:
        """Number of pages (at least one)."""
        return max(1, -(-self.total // PAGE_SIZE))


def programs_page(session: Session, run_id: int, query: ProgramsQuery) -> ProgramsPage:
    """One page of the run's programs."""
    train = aliased(EvaluationRow)
    validation = aliased(EvaluationRow)
    conditions = [ProgramRow.run_id == run_id]
    if query.island is not None:
        conditions.append(ProgramRow.island == query.island)
    if query.outcome is Outcome.OK:
        conditions.append(train.status == EvaluationStatus.OK)
    elif query.outcome is Outcome.FAILED:
        conditions.append(sa.and_(train.status.is_not(None), train.status != EvaluationStatus.OK))
    elif query.outcome is Outcome.DUPLICATE:
        conditions.append(ProgramRow.duplicate_of.is_not(None))
    base = (
        sa.select(ProgramRow.id, ProgramRow.island, ProgramRow.generation, ProgramRow.operator,
                  ProgramRow.idea, ProgramRow.duplicate_of, train.status, train.score,
                  validation.score, validation.status)
        .outerjoin(train, sa.and_(train.program_id == ProgramRow.id, train.split == Split.TRAIN))
        .outerjoin(validation, sa.and_(validation.program_id == ProgramRow.id,
                                       validation.split == Split.VALIDATION))
        .where(*conditions)
    )
    if query.sort is SortKey.TRAIN:
        order = [train.score.is_(None), train.score, ProgramRow.id]
    elif query.sort is SortKey.VALIDATION:
        order = [validation.score.is_(None), validation.score, ProgramRow.id]
    else:
        order = [ProgramRow.id]
    total = session.connection().execute(
        sa.select(sa.func.count()).select_from(base.with_only_columns(ProgramRow.id).subquery())
    ).scalar_one()
    rows = session.connection().execute(base.order_by(*order).limit(PAGE_SIZE)
                           .offset((query.page - 1) * PAGE_SIZE)).all()
    return ProgramsPage(query, tuple(
        ProgramRowView(pid, island, generation, operator, idea, duplicate_of, t_status,
                       t_score if t_status is EvaluationStatus.OK else None,
                       v_score if v_status is EvaluationStatus.OK else None)
        for pid, island, generation, operator, idea, duplicate_of, t_status, t_score, v_score,
        v_status in rows), int(total))
