"""Archive URLs on SQLite and on a real PostgreSQL server, one fresh database per test.

``DISCOVER_TEST_POSTGRES_URL`` names the server (``.ci/run`` starts one with
``.ci/postgres.sh`` and sets it). Without it the PostgreSQL cases FAIL, so a CI
that forgot the server cannot pass silently; set ``DISCOVER_TEST_NO_POSTGRES=1``
to skip them on purpose (a machine without PostgreSQL).

Run locally::

    dir=$(mktemp -d); export DISCOVER_TEST_POSTGRES_URL=$(bash .ci/postgres.sh start "$dir")
    python -m pytest tests/discover/test_shared_archive.py
    bash .ci/postgres.sh stop "$dir"
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

POSTGRES_ENV = "DISCOVER_TEST_POSTGRES_URL"
NO_POSTGRES_ENV = "DISCOVER_TEST_NO_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server URL; fails when unset unless PostgreSQL tests are switched off."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get(NO_POSTGRES_ENV) == "1":
            pytest.skip(f"PostgreSQL tests switched off ({NO_POSTGRES_ENV}=1)")
        pytest.fail(f"{POSTGRES_ENV} is not set: start a server with "
                    "`bash .ci/postgres.sh start DIR` and export the URL it prints, or set "
                    f"{NO_POSTGRES_ENV}=1 to skip the PostgreSQL tests")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        pytest.fail(f"cannot reach the PostgreSQL server at {POSTGRES_ENV}={url}: {exc}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """URL of a new, empty database on the test server (dropped afterwards)."""
    server = make_url(postgres_server)
    name = f"discover_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty archive URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))
