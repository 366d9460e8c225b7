"""What the archive's queries return: frozen dataclasses built from rows.

Every view holds plain values and the records of :mod:`archive.records`, never
ORM objects, so callers can keep them after the session is gone.
:func:`to_jsonable` turns any of them into JSON-ready data for ``--json``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archive.records import EdgeRole, Evaluation, ModelCall, Parent, Program, RunStatus, Split


@dataclass(frozen=True)
class RunCounters:
    """Counters of a run, derived from its rows (nothing here is stored).

    ``evaluated`` counts programs that are not duplicates — what the run's
    budget counts; ``duplicates`` were recorded but not evaluated.
    """

    evaluated: int = 0
    duplicates: int = 0
    evaluations: Mapping[Split, int] = field(default_factory=dict)
    failed: Mapping[Split, int] = field(default_factory=dict)
    model_calls: int = 0
    calls_without_program: int = 0
    calls_with_error: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    max_generation: int | None = None


@dataclass(frozen=True)
class RunRecord:
    """A run as stored."""

    id: int
    problem: str
    config: Mapping[str, Any]
    seed: int
    package_versions: Mapping[str, str]
    isolation: str
    budget: int | None
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class RunSummary:
    """One line of ``discover archive runs``."""

    run: RunRecord
    counters: RunCounters
    best: Mapping[Split, float]
    """Lowest score among OK evaluations, per split that has any."""


@dataclass(frozen=True)
class ProgramSummary:
    """A program with its scores, without code (for listings and lineage)."""

    id: int
    run_id: int
    operator: str
    island: int
    generation: int
    idea: str | None
    duplicate_of: int | None
    scores: Mapping[Split, float | None]
    """Score per evaluated split (``None`` when that evaluation failed)."""


@dataclass(frozen=True)
class ProgramDetail:
    """Everything about one program: ``discover archive show``."""

    id: int
    run_id: int
    program: Program
    created_at: dt.datetime
    duplicate_of: int | None
    parents: tuple[Parent, ...]
    children: tuple[int, ...]
    evaluations: Mapping[Split, Evaluation]
    model_calls: tuple[ModelCall, ...]

    def model_names(self) -> tuple[str, ...]:
        """``provider/model`` of the calls that produced the program, deduplicated."""
        return tuple(dict.fromkeys(f"{c.provider}/{c.model}" for c in self.model_calls))


@dataclass(frozen=True)
class LineageEdge:
    """One edge of a lineage graph; ``depth`` counts edges from the queried program."""

    parent_id: int
    child_id: int
    role: EdgeRole
    depth: int


@dataclass(frozen=True)
class Lineage:
    """Ancestors and descendants of a program (``discover archive lineage``)."""

    program_id: int
    ancestors: tuple[LineageEdge, ...]
    descendants: tuple[LineageEdge, ...]
    nodes: Mapping[int, ProgramSummary]
    """Every program named by an edge, and the queried one."""


@dataclass(frozen=True)
class RankedProgram:
    """An entry of ``discover archive best``."""

    rank: int
    summary: ProgramSummary
    evaluation: Evaluation


@dataclass(frozen=True)
class CodeDiff:
    """Unified diff of two programs' code."""

    a: int
    b: int
    unified: str
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        """True when the codes are equal."""
        return self.added == 0 and self.removed == 0


@dataclass(frozen=True)
class ProgramState:
    """One program as resume needs it."""

    id: int
    program: Program
    parents: tuple[Parent, ...]
    duplicate_of: int | None
    evaluations: Mapping[Split, Evaluation]
    created_at: dt.datetime


@dataclass(frozen=True)
class RunState:
    """Everything needed to resume a run, from the archive alone.

    ``programs`` are in insertion order (the order the loop recorded them),
    with their island, generation, hashes, parents and evaluations (per-instance
    results included), so the population, the deduplication sets and the
    counters can be rebuilt exactly. ``run.config`` and ``run.seed`` are the
    snapshot the run started with.
    """

    run: RunRecord
    programs: tuple[ProgramState, ...]
    counters: RunCounters

    @property
    def remaining_budget(self) -> int | None:
        """Evaluations left before ``run.budget`` (``None`` without a budget)."""
        if self.run.budget is None:
            return None
        return max(0, self.run.budget - self.counters.evaluated)


def to_jsonable(value: Any) -> Any:
    """Convert views, records, enums and datetimes into JSON-ready data.

    Non-finite floats become strings (``"inf"``), since JSON has no literal for them.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, CodeDiff):
            out["identical"] = value.identical
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def _key(key: Any) -> str:
    if isinstance(key, enum.Enum):
        return str(key.value)
    return str(key)
