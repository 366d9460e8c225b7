"""Bring a database to the current schema with the Alembic revisions shipped in the package.

Users never see Alembic: :meth:`archive.Archive.open` calls :func:`upgrade`,
which builds the Alembic configuration in code (no ``alembic.ini``) and runs
the revisions in ``archive/migrations/versions``.

Two processes opening a new SQLite archive at once must not both create it.
The upgrade therefore runs inside one ``BEGIN IMMEDIATE`` transaction (SQLite
DDL is transactional) and re-reads the revision once it holds the write lock;
the second process waits on the busy timeout, finds the schema current and
does nothing. PostgreSQL gets the same effect from an advisory lock. On SQLite
foreign keys are switched off for the duration (SQLite rebuilds tables to
alter them, which would otherwise trip the constraints) and checked with
``PRAGMA foreign_key_check`` before the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Engine

from archive.engine import is_sqlite, writer
from archive.errors import SchemaError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x64697363  # "disc": advisory-lock key of archive migrations on PostgreSQL


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic configuration pointing at the packaged revisions."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this version of discover knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise SchemaError("no schema revisions found in the package")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision a database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Upgrade the database behind ``engine`` to ``revision``.

    Returns
    -------
    bool
        True when revisions were applied, False when the schema was already there.

    Raises
    ------
    SchemaError
        If the database carries a revision this package does not know (written
        by a newer discover) or a migration fails.
    """
    script = ScriptDirectory.from_config(alembic_config())
    target = script.get_current_head() if revision == "head" else revision
    if current_revision(engine) == target:
        return False
    return _migrate(engine, script, target, command.upgrade)


def downgrade(engine: Engine, revision: str) -> bool:
    """Downgrade to ``revision`` (``"base"`` for an empty schema); for development and tests."""
    script = ScriptDirectory.from_config(alembic_config())
    target = None if revision == "base" else revision
    if current_revision(engine) == target:
        return False
    return _migrate(engine, script, target, command.downgrade)


def _migrate(engine: Engine, script: ScriptDirectory, target: str | None,
             step: Callable[[Config, str], None]) -> bool:
    sqlite = is_sqlite(engine.url)
    with writer(engine).connect() as connection:
        if sqlite:
            # Must happen outside a transaction, so on the raw driver connection.
            _raw_execute(connection, "PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # PostgreSQL has no database-wide write lock; serialise migrations with
                    # a transaction-scoped advisory lock instead (released at commit).
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
                current = MigrationContext.configure(connection).get_current_revision()
                if current == target:
                    return False  # another process got here first
                _check_known(script, current)
                try:
                    step(alembic_config(connection), target or "base")
                except CommandError as exc:
                    raise SchemaError(f"cannot migrate the archive schema: {exc}") from exc
                if sqlite:
                    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if problems:
                        raise SchemaError(f"foreign key violations after migrating: {problems[:5]}")
        finally:
            if sqlite:
                _raw_execute(connection, "PRAGMA foreign_keys = ON")
    return True


def _check_known(script: ScriptDirectory, current: str | None) -> None:
    if current is None:
        return
    try:
        script.get_revision(current)
    except CommandError:
        raise SchemaError(
            f"the archive is at schema revision {current!r}, which this version of discover "
            "does not know; it was written by a newer discover — upgrade discover to open it"
        ) from None


def _raw_execute(connection: sa.Connection, sql: str) -> None:
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    driver_connection.execute(sql)
