"""The archive: open a database, record what a run does, ask what it did.

One :class:`Archive` wraps one database. Writes that belong together commit
together: :meth:`Archive.record_candidate` stores a program, its lineage
edges, its evaluations and the model calls behind it in a single transaction,
so a process killed at any moment leaves either the whole candidate or none
of it. Reads return frozen dataclasses (:mod:`archive.views`), never ORM rows.

Examples
--------
>>> from archive import Archive, Program, Evaluation, Split, EvaluationStatus
>>> with Archive.open("sqlite://") as archive:
...     run = archive.create_run("smtt", {"budget": 10}, seed=1, budget=10)
...     pid = archive.record_candidate(run, Program("def schedule(p, d): ...", "seed"),
...         evaluations=[Evaluation(Split.TRAIN, EvaluationStatus.OK, score=1.5)])
...     archive.best(run, Split.TRAIN)[0].summary.id == pid
True
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from archive import queries, references, resume
from archive.convert import evaluation_values, model_call_values
from archive.engine import (
    Synchronous,
    create_archive_engine,
    is_sqlite,
    resolve_url,
    sqlite_file_exists,
    writer,
)
from archive.errors import ArchiveError, IntegrityError, NotFoundError
from archive.fastpath import SqliteCandidateWriter
from archive.migrate import upgrade
from archive.models import (
    EvaluationRow,
    ModelCallRow,
    RunRow,
    utcnow,
)
from archive.records import (
    CachedReference,
    Evaluation,
    ModelCall,
    Parent,
    Program,
    RunStatus,
    Split,
)
from archive.views import (
    CodeDiff,
    Lineage,
    ProgramDetail,
    RankedProgram,
    RunRecord,
    RunState,
    RunSummary,
)
from archive.writes import check_candidate, check_splits, insert_candidate, package_versions


class Archive:
    """A discovery archive in any SQLAlchemy database (SQLite by default).

    Use :meth:`open`; the constructor takes an engine already at the current schema.
    """

    def __init__(self, engine: Engine, *, fast_writes: bool = True) -> None:
        self._engine = engine
        self._writer = writer(engine)
        # On SQLite, candidates go through a lean writer (same rows, ~10x less overhead).
        self._fast = SqliteCandidateWriter(engine) if fast_writes and is_sqlite(engine.url) \
            else None

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | Path | URL | None = None,
        *,
        synchronous: Synchronous | str = Synchronous.NORMAL,
        create: bool = True,
        echo: bool = False,
    ) -> Archive:
        """Open (creating and upgrading as needed) the archive at ``url``.

        Parameters
        ----------
        url
            ``None`` for ``runs/discover.sqlite`` under the working directory
            (the directory is created), any SQLAlchemy URL, or a SQLite file path.
        synchronous
            SQLite durability: ``NORMAL`` (survives any process kill) or
            ``FULL`` (also survives power loss, slower); see :mod:`archive.engine`.
        create
            Create a missing SQLite file. Commands that only read pass ``False``
            and get :class:`NotFoundError` instead of a new empty archive.
        echo
            Log SQL statements.

        Raises
        ------
        ArchiveError
            If the URL is invalid or the database cannot be opened or upgraded.
        """
        resolved = resolve_url(url)
        if not create and is_sqlite(resolved) and not sqlite_file_exists(resolved):
            raise NotFoundError(f"no archive at {resolved.database} (pass --archive URL or "
                                "start a run first)")
        try:
            engine = create_archive_engine(
                resolved,
                synchronous=Synchronous(synchronous) if isinstance(synchronous, str)
                else synchronous,
                echo=echo,
            )
        except ImportError as exc:
            raise ArchiveError(f"cannot open archive {_display(resolved)}: the database driver "
                               f"is not installed ({exc})") from None
        except sa.exc.ArgumentError as exc:
            raise ArchiveError(f"cannot open archive {_display(resolved)}: {exc}") from None
        try:
            upgrade(engine)
        except ArchiveError:
            engine.dispose()
            raise
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise ArchiveError(f"cannot open archive {_display(resolved)}: {exc}") from exc
        return cls(engine)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return _display(self._engine.url)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for diagnostics and tests)."""
        return self._engine

    def close(self) -> None:
        """Release all connections."""
        if self._fast is not None:
            self._fast.close()
        self._engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        problem: str,
        config: Mapping[str, Any],
        seed: int,
        *,
        budget: int | None = None,
        isolation: str = "none",
        versions: Mapping[str, str] | None = None,
    ) -> int:
        """Record the start of a run and return its id.

        Parameters
        ----------
        problem
            Problem name (``"smtt"``).
        config
            Full configuration snapshot (JSON-serialisable, e.g. ``RunConfig.to_dict()``).
        seed
            The run's seed.
        budget
            Candidate evaluations the run may spend (duplicates excluded).
        isolation
            Sandbox isolation level actually in force (the sandbox's own name for it).
        versions
            Package versions; default :func:`package_versions`.
        """
        if budget is not None and budget < 0:
            raise ValueError(f"budget must be non-negative, got {budget}")
        values = {
            "problem": problem,
            "config": _json_roundtrip(config, "config"),
            "seed": seed,
            "package_versions": dict(versions if versions is not None else package_versions()),
            "isolation": isolation,
            "budget": budget,
            "status": RunStatus.RUNNING,
            "started_at": utcnow(),
            "finished_at": None,
        }
        with self._writer.begin() as connection:
            result = connection.execute(sa.insert(RunRow), values)
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, status: RunStatus = RunStatus.FINISHED) -> None:
        """Mark a run as ended with ``status`` (now as end time)."""
        if status is RunStatus.RUNNING:
            raise ValueError("finish_run needs an end status; use reopen_run to resume")
        self._set_status(run_id, status, utcnow())

    def reopen_run(self, run_id: int) -> RunRecord:
        """Mark a run as running again (resume) and return it."""
        self._set_status(run_id, RunStatus.RUNNING, None)
        return self.run(run_id)

    def _set_status(self, run_id: int, status: RunStatus, finished_at: Any) -> None:
        with self._writer.begin() as connection:
            result = connection.execute(
                sa.update(RunRow).where(RunRow.id == run_id)
                .values(status=status, finished_at=finished_at)
            )
            if result.rowcount == 0:
                raise NotFoundError(f"no run {run_id} in {self.url}")

    # -- candidates -----------------------------------------------------------------------

    def record_candidate(
        self,
        run_id: int,
        program: Program,
        *,
        parents: Sequence[Parent] = (),
        evaluations: Sequence[Evaluation] = (),
        model_calls: Sequence[ModelCall] = (),
        duplicate_of: int | None = None,
    ) -> int:
        """Store a program with its lineage, evaluations and model calls in one transaction.

        Parameters
        ----------
        run_id
            The run it belongs to.
        program
            The program.
        parents
            Archived programs it came from, in order (crossover order matters).
        evaluations
            At most one per split. Must be empty for a duplicate.
        model_calls
            The calls that produced it (several when a call was retried).
        duplicate_of
            Id of the program this one duplicates; it is recorded, not evaluated.
            A duplicate of a duplicate points at the original.

        Returns
        -------
        int
            The new program's id. Ids increase in insertion order.

        Raises
        ------
        IntegrityError
            Unknown run, parent or original; nothing is written.
        """
        check_candidate(parents, evaluations, duplicate_of)
        try:
            if self._fast is not None:
                return self._fast.insert_candidate(run_id, program, parents, evaluations,
                                                   model_calls, duplicate_of, utcnow())
            with self._writer.begin() as connection:
                return insert_candidate(connection, run_id, program, parents, evaluations,
                                        model_calls, duplicate_of, utcnow())
        except (sa.exc.IntegrityError, sqlite3.IntegrityError) as exc:
            raise IntegrityError(
                f"candidate not recorded (run {run_id}, parents "
                f"{[p.program_id for p in parents]}, duplicate_of {duplicate_of}): "
                f"{getattr(exc, 'orig', exc)}"
            ) from exc

    def add_evaluations(self, program_id: int, evaluations: Sequence[Evaluation]) -> None:
        """Add evaluations on further splits (e.g. test) to an archived program, atomically.

        Raises
        ------
        IntegrityError
            If the program does not exist or already has an evaluation on one of the splits.
        """
        check_splits(evaluations)
        if not evaluations:
            return
        now = utcnow()
        try:
            with self._writer.begin() as connection:
                connection.execute(sa.insert(EvaluationRow),
                                   [evaluation_values(program_id, e, now) for e in evaluations])
        except sa.exc.IntegrityError as exc:
            raise IntegrityError(
                f"evaluations of program {program_id} not recorded: {exc.orig}"
            ) from exc

    def record_model_calls(self, run_id: int, calls: Sequence[ModelCall]) -> tuple[int, ...]:
        """Store calls that produced no program (failed extraction, provider error)."""
        if not calls:
            return ()
        now = utcnow()
        ids = []
        try:
            with self._writer.begin() as connection:
                for call in calls:
                    result = connection.execute(sa.insert(ModelCallRow),
                                                model_call_values(run_id, None, call, now))
                    ids.append(int(result.inserted_primary_key[0]))  # type: ignore[index]
        except sa.exc.IntegrityError as exc:
            raise IntegrityError(f"model calls not recorded (run {run_id}): {exc.orig}") from exc
        return tuple(ids)

    # -- reference cache ------------------------------------------------------------------

    def get_reference(self, fingerprint: str, method: str) -> CachedReference | None:
        """The cached reference of an instance for ``method``, if any."""
        return self.get_references([fingerprint], method).get(fingerprint)

    def get_references(self, fingerprints: Iterable[str], method: str
                       ) -> dict[str, CachedReference]:
        """Cached references for many instances at once, by fingerprint."""
        with Session(self._engine) as session:
            return references.get_many(session, list(fingerprints), method)

    def put_reference(self, reference: CachedReference) -> CachedReference:
        """Cache a reference; returns what the cache holds afterwards (see :func:`put_many`)."""
        return self.put_references([reference])[0]

    def put_references(self, items: Sequence[CachedReference]) -> list[CachedReference]:
        """Cache many references in one transaction; an optimum is never replaced by less."""
        with self._writer.begin() as connection:
            return references.put_many(connection, items, utcnow())

    # -- queries --------------------------------------------------------------------------

    def run(self, run_id: int) -> RunRecord:
        """One run. Raises :class:`NotFoundError` if unknown."""
        with Session(self._engine) as session:
            return queries.get_run(session, run_id)

    def runs(self) -> list[RunSummary]:
        """All runs, newest first, with counters and best scores."""
        with Session(self._engine) as session:
            return queries.list_runs(session)

    def program(self, program_id: int) -> ProgramDetail:
        """Everything about one program. Raises :class:`NotFoundError` if unknown."""
        with Session(self._engine) as session:
            return queries.program_detail(session, program_id)

    def lineage(self, program_id: int, max_depth: int | None = None) -> Lineage:
        """Ancestors and descendants of a program, up to ``max_depth`` edges away."""
        with Session(self._engine) as session:
            return queries.lineage(session, program_id, max_depth)

    def best(self, run_id: int, split: Split = Split.VALIDATION, top: int = 10
             ) -> list[RankedProgram]:
        """The ``top`` programs of a run by score on ``split`` (lowest first, OK only)."""
        with Session(self._engine) as session:
            return queries.best(session, run_id, split, top)

    def diff(self, a: int, b: int, context: int = 3) -> CodeDiff:
        """Unified diff of two programs' code."""
        with Session(self._engine) as session:
            return queries.diff(session, a, b, context)

    def find_programs(self, run_id: int, *, code_hash: str | None = None,
                      behaviour_hash: str | None = None) -> list[int]:
        """Ids of a run's programs with this code hash and/or behaviour hash (oldest first)."""
        with Session(self._engine) as session:
            return queries.find_programs(session, run_id, code_hash, behaviour_hash)

    def run_state(self, run_id: int, *, per_instance: bool = True) -> RunState:
        """Everything resume needs, read in one consistent snapshot."""
        with Session(self._engine) as session:
            return resume.run_state(session, run_id, per_instance=per_instance)


def _json_roundtrip(value: Mapping[str, Any], name: str) -> dict[str, Any]:
    try:
        plain: dict[str, Any] = json.loads(json.dumps(dict(value)))
        return plain
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be JSON-serialisable: {exc}") from None


def _display(url: URL) -> str:
    return url.render_as_string(hide_password=True)
