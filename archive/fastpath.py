"""Candidate writes on SQLite without per-statement SQLAlchemy overhead.

A run commits one candidate per transaction, thousands of times. Through
SQLAlchemy Core each commit costs several statement executions with
compilation-cache lookups, events and result objects — about ten times what
SQLite itself needs. This writer compiles each INSERT once, applies the very
same bind processors SQLAlchemy would (enums, UTC datetimes, JSON), and runs
the statements on one dedicated DBAPI connection, inside
``BEGIN IMMEDIATE … COMMIT`` exactly like the Core path in
:mod:`archive.writes`. Rows written either way are identical (tested).

Only for SQLite (qmark parameters, ``lastrowid``); other databases use the
Core path.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from archive.convert import evaluation_values, model_call_values, program_values
from archive.errors import IntegrityError
from archive.models import EvaluationRow, LineageEdgeRow, ModelCallRow, ProgramRow
from archive.records import Evaluation, ModelCall, Parent, Program


class _Insert:
    """An INSERT compiled once, with the columns' bind processors."""

    def __init__(self, table: sa.Table, columns: Sequence[str], dialect: sa.Dialect) -> None:
        self.columns = tuple(columns)
        self.sql = (f"INSERT INTO {table.name} ({', '.join(self.columns)}) "
                    f"VALUES ({', '.join('?' * len(self.columns))})")
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                      for name in self.columns]
        # Only columns with a processor (enums, datetimes, JSON) need a call per row.
        self.processed: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (k, p) for k, p in enumerate(processors) if p is not None)

    def row(self, values: dict[str, Any]) -> list[Any]:
        out = [values[c] for c in self.columns]
        for k, process in self.processed:
            if out[k] is not None:
                out[k] = process(out[k])
        return out


def _table(model: type[Any]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _columns(model: type[Any]) -> list[str]:
    return [c.name for c in _table(model).columns if not c.primary_key]


class SqliteCandidateWriter:
    """Writes whole candidates on a dedicated SQLite connection, one transaction each.

    Thread-safe: a lock serialises candidates written from several threads.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        self._program = _Insert(_table(ProgramRow), _columns(ProgramRow), dialect)
        self._edge = _Insert(_table(LineageEdgeRow), _columns(LineageEdgeRow), dialect)
        self._evaluation = _Insert(_table(EvaluationRow), _columns(EvaluationRow), dialect)
        self._call = _Insert(_table(ModelCallRow), _columns(ModelCallRow), dialect)
        self._lock = threading.Lock()
        self._connection: Any = None

    def close(self) -> None:
        """Return the dedicated connection to the pool."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def insert_candidate(self, run_id: int, program: Program, parents: Sequence[Parent],
                         evaluations: Sequence[Evaluation], model_calls: Sequence[ModelCall],
                         duplicate_of: int | None, now: dt.datetime) -> int:
        """Insert and commit one candidate; roll everything back on any error.

        Raises
        ------
        sqlite3.IntegrityError
            Unknown run or parent (the caller words the message).
        IntegrityError
            Unknown original of a duplicate.
        """
        with self._lock:
            if self._connection is None:
                # A pooled connection: the engine's connect hooks already set the pragmas.
                self._connection = self._engine.raw_connection()
            driver = self._connection.driver_connection
            cursor = driver.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                pid = self._insert(cursor, run_id, program, parents, evaluations, model_calls,
                                   duplicate_of, now)
                cursor.execute("COMMIT")
                return pid
            except BaseException:
                if driver.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()

    def _insert(self, cursor: sqlite3.Cursor, run_id: int, program: Program,
                parents: Sequence[Parent], evaluations: Sequence[Evaluation],
                model_calls: Sequence[ModelCall], duplicate_of: int | None,
                now: dt.datetime) -> int:
        if duplicate_of is not None:
            found = cursor.execute("SELECT duplicate_of FROM programs WHERE id = ?",
                                   (duplicate_of,)).fetchone()
            if found is None:
                raise IntegrityError(f"duplicate_of: no program {duplicate_of}")
            duplicate_of = found[0] if found[0] is not None else duplicate_of
        cursor.execute(self._program.sql,
                       self._program.row(program_values(run_id, program, now, duplicate_of)))
        pid = cursor.lastrowid
        assert pid is not None
        if parents:
            cursor.executemany(self._edge.sql, [
                self._edge.row({"parent_id": p.program_id, "child_id": pid, "role": p.role})
                for p in parents])
        if evaluations:
            cursor.executemany(self._evaluation.sql, [
                self._evaluation.row(evaluation_values(pid, e, now)) for e in evaluations])
        if model_calls:
            cursor.executemany(self._call.sql, [
                self._call.row(model_call_values(run_id, pid, c, now)) for c in model_calls])
        return int(pid)
