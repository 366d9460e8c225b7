"""Open an archive for reading only: the browser never writes, migrates or creates.

A SQLite file is opened through a ``file:…?mode=ro`` URI with
``PRAGMA query_only``, so neither a bug in the browser nor a crafted request
can change it; a run writing to the same file meanwhile is fine (WAL: readers
and the writer do not block each other). Each request reads inside one
``BEGIN`` … ``COMMIT``, so a page shows one consistent snapshot even while the
loop commits candidates. Other databases get a read-only session where the
dialect has one (PostgreSQL, MySQL).

Unlike :meth:`archive.Archive.open`, nothing is upgraded: an archive at an
older schema revision is refused with a message saying how to upgrade it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import QueuePool

from archive.engine import BUSY_TIMEOUT_SECONDS, is_sqlite, resolve_url
from archive.errors import ArchiveError, NotFoundError, SchemaError
from archive.migrate import current_revision, head_revision
from archive.store import Archive

MMAP_BYTES = 1 << 30
CACHE_KIB = 64 * 1024
_READ_ONLY_SQL = {
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}


@dataclass(frozen=True)
class ReadOnlyArchive:
    """An archive opened read-only, with the URL to show users (password hidden)."""

    store: Archive
    display_url: str
    enforced: bool
    """True when the database itself refuses writes (SQLite, PostgreSQL, MySQL)."""

    @property
    def engine(self) -> Engine:
        """The read-only engine (for the browser's own queries)."""
        return self.store.engine

    def close(self) -> None:
        """Release all connections."""
        self.store.close()


def _sqlite_engine(path: Path) -> Engine:
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False,
                                     timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.execute("PRAGMA query_only = ON")
        # Pages scan whole runs: memory-mapped reads and a larger page cache
        # avoid a system call per page (both only affect this connection).
        connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        return connection

    # The URL is for display (exports cite it); connections come from `connect`.
    # Request threads each get their own connection from the queue pool.
    engine = sa.create_engine(URL.create("sqlite", database=str(path)), creator=connect,
                              poolclass=QueuePool, pool_size=4, max_overflow=8)

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")  # deferred: a read snapshot, no lock

    return engine


def _server_engine(url: URL) -> tuple[Engine, bool]:
    engine = sa.create_engine(url, pool_pre_ping=True)
    statement = _READ_ONLY_SQL.get(url.get_backend_name())
    if statement is not None:
        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(statement)
            finally:
                cursor.close()
            # A SET inside a transaction that is later rolled back (as the pool does
            # on return) would be undone: commit it.
            dbapi_connection.commit()
    return engine, statement is not None


def open_readonly(url: str | Path | URL | None) -> ReadOnlyArchive:
    """Open an existing archive for reading.

    Parameters
    ----------
    url
        As for :meth:`archive.Archive.open` (``None``: ``runs/discover.sqlite``).

    Raises
    ------
    NotFoundError
        If a SQLite file does not exist.
    SchemaError
        If the archive is not at this version's schema revision.
    ArchiveError
        If the URL is invalid, in-memory, or the database cannot be read.
    """
    resolved = resolve_url(url)
    display = resolved.render_as_string(hide_password=True)
    if is_sqlite(resolved):
        database = str(resolved.database or "")
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise ArchiveError("an in-memory archive has nothing to browse; give a file")
        path = Path(database)
        if not path.is_file():
            raise NotFoundError(f"no archive at {path} (pass --archive URL or start a run first)")
        engine, enforced = _sqlite_engine(path), True
    else:
        engine, enforced = _server_engine(resolved)
    try:
        current = current_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise ArchiveError(f"cannot read archive {display}: {exc}") from exc
    head = head_revision()
    if current != head:
        engine.dispose()
        what = "is empty" if current is None else f"is at schema revision {current!r}"
        raise SchemaError(
            f"archive {display} {what}, this discover expects {head!r}; the browser opens "
            "archives read-only and does not migrate them — run `discover archive runs "
            "--archive URL` once to upgrade it (or upgrade discover if it is newer)")
    return ReadOnlyArchive(Archive(engine), display, enforced)
