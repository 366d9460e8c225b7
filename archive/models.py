"""SQLAlchemy 2.0 ORM models of the archive (typed ``Mapped[]`` columns).

The schema is created and evolved only by the Alembic revisions in
``archive/migrations``; a test compares these models with the migrated schema
so the two cannot drift. Counters a run needs (programs evaluated, calls,
tokens, cost) are derived from rows rather than stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from archive.records import (
    HASH_LENGTH,
    METHOD_LENGTH,
    EdgeRole,
    EvaluationStatus,
    ReferenceStatus,
    RunStatus,
    Split,
)

# Named constraints, so migrations (and SQLite batch rebuilds) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; use UTC-aware datetimes")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def enum_column(enum_cls: type[Any]) -> sa.Enum:
    """Enum stored as its string value, no CHECK constraint: new members need no migration."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def utcnow() -> dt.datetime:
    """Current time, UTC-aware."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with the archive's naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class RunRow(Base):
    """One discovery run: what it was asked to do and how it ended."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem: Mapped[str] = mapped_column(sa.Text)
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    package_versions: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    isolation: Mapped[str] = mapped_column(sa.Text)
    budget: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ProgramRow(Base):
    """A candidate program; ``duplicate_of`` marks one that was not re-evaluated."""

    __tablename__ = "programs"
    __table_args__ = (
        sa.Index("ix_programs_run_id_code_hash", "run_id", "code_hash"),
        sa.Index("ix_programs_run_id_behaviour_hash", "run_id", "behaviour_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"), index=True)
    code: Mapped[str] = mapped_column(sa.Text)
    code_hash: Mapped[str] = mapped_column(sa.String(HASH_LENGTH))
    island: Mapped[int] = mapped_column(sa.Integer)
    generation: Mapped[int] = mapped_column(sa.Integer)
    operator: Mapped[str] = mapped_column(sa.Text)
    idea: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # Added by revision 0002 (deduplication).
    behaviour_hash: Mapped[str | None] = mapped_column(sa.String(HASH_LENGTH))
    duplicate_of: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"), index=True)


class LineageEdgeRow(Base):
    """Parent → child link with the parent's role."""

    __tablename__ = "lineage_edges"
    __table_args__ = (sa.UniqueConstraint("parent_id", "child_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    role: Mapped[EdgeRole] = mapped_column(enum_column(EdgeRole))


class EvaluationRow(Base):
    """A program's evaluation on one split (at most one per program and split)."""

    __tablename__ = "evaluations"
    __table_args__ = (sa.UniqueConstraint("program_id", "split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"))
    split: Mapped[Split] = mapped_column(enum_column(Split))
    status: Mapped[EvaluationStatus] = mapped_column(enum_column(EvaluationStatus))
    score: Mapped[float | None] = mapped_column(sa.Float)
    gap: Mapped[float | None] = mapped_column(sa.Float)
    seconds: Mapped[float] = mapped_column(sa.Float)
    error: Mapped[str | None] = mapped_column(sa.Text)
    per_instance: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    steps: Mapped[int | None] = mapped_column(sa.BigInteger)


class ModelCallRow(Base):
    """One language-model request; ``program_id`` is NULL when no program came of it."""

    __tablename__ = "model_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    provider: Mapped[str] = mapped_column(sa.Text)
    model: Mapped[str] = mapped_column(sa.Text)
    prompt: Mapped[str] = mapped_column(sa.Text)
    response: Mapped[str | None] = mapped_column(sa.Text)
    tokens_in: Mapped[int | None] = mapped_column(sa.BigInteger)
    tokens_out: Mapped[int | None] = mapped_column(sa.BigInteger)
    cost: Mapped[float | None] = mapped_column(sa.Float)
    latency: Mapped[float] = mapped_column(sa.Float)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ReferenceRow(Base):
    """Exact-reference cache, shared by all runs of an archive."""

    __tablename__ = "reference_cache"

    fingerprint: Mapped[str] = mapped_column(sa.String(HASH_LENGTH), primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(METHOD_LENGTH), primary_key=True)
    objective: Mapped[float] = mapped_column(sa.Float)
    lower_bound: Mapped[float] = mapped_column(sa.Float)
    status: Mapped[ReferenceStatus] = mapped_column(enum_column(ReferenceStatus))
    seconds: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
