"""Database URLs and engines: SQLite tuned for one writer per candidate, any other URL as is.

SQLite settings and why:

* ``journal_mode=WAL``: readers (the CLI, a browser) never block the loop's
  writer and the writer never blocks them; a commit appends to the WAL file.
* ``synchronous=NORMAL`` (default; ``FULL`` on request): in WAL mode a
  committed transaction is in the OS's hands once ``COMMIT`` returns, so
  killing the process (SIGINT, SIGKILL, OOM) cannot lose it; only a power
  failure or kernel crash can roll back the last few commits, and even then
  the file stays consistent. That costs at most a few candidates, which resume
  re-evaluates, in exchange for commits without an ``fsync`` each. Pass
  ``synchronous="FULL"`` to :meth:`archive.Archive.open` to survive power loss too.
* ``foreign_keys=ON``: lineage, evaluations and model calls must point at
  programs that exist.
* ``busy_timeout``: a second writer waits for the lock instead of failing.
* Write transactions start with ``BEGIN IMMEDIATE``: the write lock is taken
  up front, so two writers queue on the busy timeout. (A deferred transaction
  that reads and then writes can hit ``database is locked`` without waiting.)

pysqlite's own transaction handling is switched off (``isolation_level=None``)
and SQLAlchemy's ``begin`` event emits ``BEGIN`` itself, as the SQLAlchemy
SQLite documentation recommends for Python < 3.12; this also makes DDL
transactional, which the migrations rely on.
"""

from __future__ import annotations

import enum
import json
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from archive.errors import ArchiveError

DEFAULT_PATH = Path("runs") / "discover.sqlite"
"""Default archive file, relative to the working directory."""

BUSY_TIMEOUT_SECONDS = 60.0
_WRITE_OPTION = "discover_write"


class Synchronous(enum.Enum):
    """SQLite ``PRAGMA synchronous`` levels the archive accepts."""

    NORMAL = "NORMAL"
    FULL = "FULL"


def resolve_url(url: str | Path | URL | None, cwd: Path | None = None) -> URL:
    """Turn ``--archive`` input into a SQLAlchemy URL.

    Parameters
    ----------
    url
        ``None`` for ``runs/discover.sqlite`` under ``cwd``; a SQLAlchemy URL
        (``sqlite:///x.sqlite``, ``postgresql+psycopg://...``); or a plain file
        path, read as a SQLite file.
    cwd
        Directory relative paths are resolved against (default: the current one).

    Raises
    ------
    ArchiveError
        If ``url`` is neither a URL SQLAlchemy understands nor a path.
    """
    base = Path.cwd() if cwd is None else cwd
    if url is None:
        return URL.create("sqlite", database=str(base / DEFAULT_PATH))
    if isinstance(url, URL):
        parsed = url
    elif isinstance(url, Path) or "://" not in url:
        return URL.create("sqlite", database=str(base / Path(url).expanduser()))
    else:
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError) as exc:
            raise ArchiveError(f"not a database URL: {url!r} ({exc})") from None
    if is_sqlite(parsed) and not _is_memory(parsed):
        database = Path(str(parsed.database)).expanduser()
        parsed = parsed.set(database=str(database if database.is_absolute() else base / database))
    return parsed


def is_sqlite(url: URL) -> bool:
    """True for any ``sqlite`` dialect URL."""
    return url.get_backend_name() == "sqlite"


def sqlite_file_exists(url: URL) -> bool:
    """True for an in-memory SQLite URL or an existing SQLite file."""
    return _is_memory(url) or Path(str(url.database)).is_file()


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or str(url.database).startswith("file::memory:")


def create_archive_engine(
    url: URL, *, synchronous: Synchronous = Synchronous.NORMAL, echo: bool = False
) -> Engine:
    """Create the engine for ``url``, with the SQLite settings above when it is SQLite.

    The parent directory of a SQLite file is created if missing.
    """
    # Compact JSON: per-instance results are the bulk of the database.
    json_serializer = partial(json.dumps, separators=(",", ":"))
    if not is_sqlite(url):
        return sa.create_engine(url, echo=echo, pool_pre_ping=True,
                                json_serializer=json_serializer)
    kwargs: dict[str, Any] = {
        "echo": echo,
        "json_serializer": json_serializer,
        "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    }
    if _is_memory(url):
        # One shared connection, otherwise every connection sees its own empty database.
        kwargs["poolclass"] = StaticPool
    else:
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    _install_sqlite_hooks(engine, synchronous, wal=not _is_memory(url))
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, whose transactions take the write lock at ``BEGIN`` on SQLite."""
    return engine.execution_options(**{_WRITE_OPTION: True})


def _install_sqlite_hooks(engine: Engine, synchronous: Synchronous, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            if wal:
                # journal_mode is persistent in the file; setting it again is a no-op.
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous.value}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def sqlite_pragma(engine: Engine, name: str) -> Any:
    """Read one PRAGMA value (for tests and diagnostics)."""
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()
