"""Persistence for discovery runs: programs, evaluations, lineage, model calls, references.

Open an archive with :meth:`Archive.open` (``runs/discover.sqlite`` by default,
any SQLAlchemy URL accepted); the schema is created or upgraded on open by
the packaged Alembic revisions. Writes take and reads return the frozen
dataclasses re-exported here.
"""

from archive.engine import Synchronous
from archive.errors import ArchiveError, IntegrityError, NotFoundError, SchemaError
from archive.records import (
    CachedReference,
    EdgeRole,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    ModelCall,
    Parent,
    Program,
    ReferenceStatus,
    RunStatus,
    Split,
)
from archive.store import Archive, package_versions
from archive.views import (
    CodeDiff,
    Lineage,
    LineageEdge,
    ProgramDetail,
    ProgramState,
    ProgramSummary,
    RankedProgram,
    RunCounters,
    RunRecord,
    RunState,
    RunSummary,
    to_jsonable,
)

__all__ = [
    "Archive",
    "ArchiveError",
    "CachedReference",
    "CodeDiff",
    "EdgeRole",
    "Evaluation",
    "EvaluationStatus",
    "InstanceResult",
    "IntegrityError",
    "Lineage",
    "LineageEdge",
    "ModelCall",
    "NotFoundError",
    "Parent",
    "Program",
    "ProgramDetail",
    "ProgramState",
    "ProgramSummary",
    "RankedProgram",
    "ReferenceStatus",
    "RunCounters",
    "RunRecord",
    "RunState",
    "RunStatus",
    "RunSummary",
    "SchemaError",
    "Split",
    "Synchronous",
    "package_versions",
    "to_jsonable",
]
