"""Write helpers behind :meth:`archive.Archive.record_candidate` and friends."""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Iterable, Sequence
from importlib import metadata

import sqlalchemy as sa

from archive.convert import evaluation_values, model_call_values, program_values
from archive.errors import IntegrityError
from archive.models import EvaluationRow, LineageEdgeRow, ModelCallRow, ProgramRow
from archive.records import Evaluation, ModelCall, Parent, Program

VERSIONED_PACKAGES = ("discover", "numpy", "ortools", "sqlalchemy", "alembic", "openai",
                      "anthropic", "numba", "scipy")
"""Packages whose versions a run records by default."""


def package_versions(names: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (missing ones omitted) plus Python's."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def check_candidate(parents: Sequence[Parent], evaluations: Sequence[Evaluation],
                    duplicate_of: int | None) -> None:
    """Reject candidates that are inconsistent before touching the database."""
    if duplicate_of is not None and evaluations:
        raise ValueError("a duplicate is not evaluated: pass no evaluations with duplicate_of")
    keys = [(p.program_id, p.role) for p in parents]
    if len(set(keys)) != len(keys):
        raise ValueError(f"the same parent link appears twice: {keys}")
    check_splits(evaluations)


def check_splits(evaluations: Sequence[Evaluation]) -> None:
    """At most one evaluation per split."""
    splits = [e.split for e in evaluations]
    if len(set(splits)) != len(splits):
        raise ValueError(f"at most one evaluation per split, got {[s.value for s in splits]}")


def insert_candidate(
    connection: sa.Connection,
    run_id: int,
    program: Program,
    parents: Sequence[Parent],
    evaluations: Sequence[Evaluation],
    model_calls: Sequence[ModelCall],
    duplicate_of: int | None,
    now: dt.datetime,
) -> int:
    """Insert one candidate's rows inside the caller's transaction; return the program id."""
    if duplicate_of is not None:
        duplicate_of = original_of(connection, duplicate_of)
    result = connection.execute(
        sa.insert(ProgramRow), program_values(run_id, program, now, duplicate_of)
    )
    pid = int(result.inserted_primary_key[0])  # type: ignore[index]
    if parents:
        connection.execute(sa.insert(LineageEdgeRow), [
            {"parent_id": p.program_id, "child_id": pid, "role": p.role} for p in parents
        ])
    if evaluations:
        connection.execute(sa.insert(EvaluationRow),
                           [evaluation_values(pid, e, now) for e in evaluations])
    if model_calls:
        connection.execute(sa.insert(ModelCallRow),
                           [model_call_values(run_id, pid, c, now) for c in model_calls])
    return pid


def original_of(connection: sa.Connection, program_id: int) -> int:
    """The program a duplicate ultimately stands for (itself when it is an original)."""
    original = connection.execute(
        sa.select(ProgramRow.id, ProgramRow.duplicate_of).where(ProgramRow.id == program_id)
    ).first()
    if original is None:
        raise IntegrityError(f"duplicate_of: no program {program_id}")
    return int(original.duplicate_of) if original.duplicate_of is not None else program_id
