"""A run's rows as the run page needs them, kept in memory and brought up to date incrementally.

The archive only ever adds rows: programs (with their train evaluation, in the
same transaction), later evaluations on other splits (validation), and model
calls; ids grow with time. So a run's timeline — one narrow row per program,
its non-train evaluations and its model-call totals — is read in full once and
afterwards extended with just the rows whose ids exceed those already seen.
Refreshing also tells whether anything changed, which is what decides whether
a cached run page is still current. Anything the incremental path cannot
account for (a train evaluation added to an old program) triggers a full read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.models import EvaluationRow, ModelCallRow, ProgramRow, RunRow
from archive.records import EvaluationStatus, Split
from archive.views import RunCounters

_OK = EvaluationStatus.OK.value
DUPLICATE = "duplicate"
UNEVALUATED = "unevaluated"
CATEGORIES = (*(s.value for s in EvaluationStatus), DUPLICATE, UNEVALUATED)
"""Outcome categories of a program, in legend order: evaluation statuses, then the rest."""


class ProgramLine(NamedTuple):
    """One program of the run with its train outcome (statuses as plain strings)."""

    id: int
    island: int
    generation: int
    operator: str
    duplicate_of: int | None
    eval_id: int | None
    status: str | None
    score: float | None
    gap: float | None


class OtherEvaluation(NamedTuple):
    """An evaluation on a split other than train."""

    id: int
    program_id: int
    split: str
    status: str
    score: float | None
    gap: float | None


@dataclass
class RunTimeline:
    """Everything the run page derives its figures from (mutable; see :meth:`refresh`)."""

    run_id: int
    lines: list[ProgramLine] = field(default_factory=list)
    others: list[OtherEvaluation] = field(default_factory=list)
    calls: list[float] = field(default_factory=lambda: [0, 0, 0, 0, 0, 0.0])
    """count, without program, with error, tokens in, tokens out, cost."""
    run_state: tuple[Any, ...] | None = None
    last_program: int = 0
    last_evaluation: int = 0
    last_call: int = 0
    # Aggregates kept up to date as lines are appended (so a refresh costs what is new):
    prefix: dict[str, list[int]] = field(
        default_factory=lambda: {c: [0] for c in CATEGORIES})
    """Per outcome category, how many of the first k programs fall in it (k = 0..n)."""
    islands: dict[int, list[Any]] = field(default_factory=dict)
    """Per island: programs, evaluated, ok, failed, duplicates, best score, its program,
    last generation."""
    train: list[int] = field(default_factory=lambda: [0, 0, 0, -1])
    """Train evaluations, failed ones, duplicates, largest generation (-1: none)."""

    def extend(self, lines: Sequence[ProgramLine]) -> None:
        """Append programs (in id order) and update the aggregates."""
        prefix, islands, train = self.prefix, self.islands, self.train
        for line in lines:
            pid, island, generation, _, duplicate_of, _, status, score, _ = line
            category = DUPLICATE if duplicate_of is not None else status or UNEVALUATED
            for name, counts in prefix.items():
                counts.append(counts[-1] + (name == category))
            s = islands.get(island)
            if s is None:
                s = islands[island] = [0, 0, 0, 0, 0, None, None, 0]
            s[0] += 1
            s[7] = max(s[7], generation)
            train[3] = max(train[3], generation)
            if status is not None:
                train[0] += 1
                train[1] += status != _OK
            if duplicate_of is not None:
                s[4] += 1
                train[2] += 1
                continue
            s[1] += 1
            if status == _OK and score is not None:
                s[2] += 1
                if s[5] is None or score < s[5]:
                    s[5], s[6] = score, pid
            elif status is not None:
                s[3] += 1
        self.lines.extend(lines)

    def counters(self) -> RunCounters:
        """The run's counters, as :func:`archive.counters.run_counters` derives them."""
        evaluations: dict[str, int] = {}
        failed: dict[str, int] = {}
        if self.train[0]:
            evaluations["train"], failed["train"] = self.train[0], self.train[1]
        duplicates = self.train[2]
        for other in self.others:
            evaluations[other.split] = evaluations.get(other.split, 0) + 1
            failed[other.split] = failed.get(other.split, 0) + (other.status != _OK)
        count, orphans, errors, tokens_in, tokens_out, cost = self.calls
        return RunCounters(
            evaluated=len(self.lines) - duplicates, duplicates=duplicates,
            evaluations={s: evaluations[s.value] for s in Split if s.value in evaluations},
            failed={s: failed[s.value] for s in Split if s.value in failed},
            model_calls=int(count), calls_without_program=int(orphans),
            calls_with_error=int(errors), tokens_in=int(tokens_in), tokens_out=int(tokens_out),
            cost=float(cost),
            max_generation=self.train[3] if self.train[3] >= 0 else None,
        )

    # -- reading ------------------------------------------------------------------------------
    def refresh(self, session: Session) -> bool:
        """Read what was added since the last refresh; True if anything changed."""
        connection = session.connection()
        run = connection.execute(sa.select(RunRow.status, RunRow.finished_at)
                                 .where(RunRow.id == self.run_id)).one_or_none()
        state = None if run is None else tuple(run)
        changed = state != self.run_state
        self.run_state = state
        first = self.last_program == 0 and not self.lines
        fresh = self._programs(connection)
        if first:
            self._first_evaluations(connection)
        for evaluation in () if first else self._evaluations(connection):
            if evaluation.split != Split.TRAIN.value:
                self.others.append(evaluation)
            elif evaluation.program_id <= self.last_program:
                self._reset()  # a train evaluation added to an old program: start over
                self.refresh(session)
                return True
            changed = True
        if fresh:
            self.extend(fresh)
            self.last_program = fresh[-1].id
            changed = True
        return self._calls(connection) or changed

    def _reset(self) -> None:
        fresh = RunTimeline(self.run_id)
        for name in fresh.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def _programs(self, connection: sa.Connection) -> list[ProgramLine]:
        train = sa.and_(EvaluationRow.program_id == ProgramRow.id,
                        EvaluationRow.split == Split.TRAIN)
        rows = connection.execute(
            # Statuses as plain strings: converting 10,000 of them to enums is measurable.
            sa.select(ProgramRow.id, ProgramRow.island, ProgramRow.generation,
                      ProgramRow.operator, ProgramRow.duplicate_of, EvaluationRow.id,
                      sa.type_coerce(EvaluationRow.status, sa.String), EvaluationRow.score,
                      EvaluationRow.gap)
            .outerjoin(EvaluationRow, train)
            .where(ProgramRow.run_id == self.run_id, ProgramRow.id > self.last_program)
            .order_by(ProgramRow.id))
        return [ProgramLine(*row) for row in rows]

    def _first_evaluations(self, connection: sa.Connection) -> None:
        # Train evaluations came with the program rows; read the other splits, and
        # remember the newest evaluation id of the whole archive (same snapshot).
        self.others = [OtherEvaluation(*row) for row in connection.execute(
            sa.select(EvaluationRow.id, EvaluationRow.program_id,
                      sa.type_coerce(EvaluationRow.split, sa.String),
                      sa.type_coerce(EvaluationRow.status, sa.String), EvaluationRow.score,
                      EvaluationRow.gap)
            .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
            .where(ProgramRow.run_id == self.run_id, EvaluationRow.split != Split.TRAIN)
            .order_by(EvaluationRow.id))]
        newest = connection.execute(sa.select(sa.func.max(EvaluationRow.id))).scalar()
        self.last_evaluation = int(newest or 0)

    def _evaluations(self, connection: sa.Connection) -> Sequence[OtherEvaluation]:
        # Evaluations newer than the last seen, of this run's programs: a range of
        # evaluation ids, each checked against its program by a correlated EXISTS
        # (an IN list or a join would make SQLite walk the whole run every time).
        member = sa.exists().where(ProgramRow.id == EvaluationRow.program_id,
                                   ProgramRow.run_id == self.run_id)
        rows = connection.execute(
            sa.select(EvaluationRow.id, EvaluationRow.program_id,
                      sa.type_coerce(EvaluationRow.split, sa.String),
                      sa.type_coerce(EvaluationRow.status, sa.String), EvaluationRow.score,
                      EvaluationRow.gap)
            .where(EvaluationRow.id > self.last_evaluation, member)
            .order_by(EvaluationRow.id)).all()
        out = [OtherEvaluation(*row) for row in rows]
        if out:
            self.last_evaluation = out[-1].id
        return out

    def _calls(self, connection: sa.Connection) -> bool:
        row = connection.execute(
            sa.select(sa.func.count(), sa.func.max(ModelCallRow.id),
                      sa.func.sum(sa.case((ModelCallRow.program_id.is_(None), 1), else_=0)),
                      sa.func.count(ModelCallRow.error),
                      sa.func.coalesce(sa.func.sum(ModelCallRow.tokens_in), 0),
                      sa.func.coalesce(sa.func.sum(ModelCallRow.tokens_out), 0),
                      sa.func.coalesce(sa.func.sum(ModelCallRow.cost), 0.0))
            .where(ModelCallRow.run_id == self.run_id, ModelCallRow.id > self.last_call)
        ).one()
        count, last, orphans, errors, tokens_in, tokens_out, cost = row
        if not count:
            return False
        for k, value in enumerate((count, orphans or 0, errors, tokens_in, tokens_out, cost)):
            self.calls[k] += value
        self.last_call = int(last)
        return True
