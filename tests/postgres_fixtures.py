"""Archive URLs on SQLite and on a real PostgreSQL server, one fresh database per test.

The server is ``DISCOVER_TEST_POSTGRES_URL`` when that is set. Otherwise the session
starts a throwaway cluster on 127.0.0.1 from the installed server binaries
(``.ci/postgres.sh``, as the ``postgres`` user when run as root) and stops it at the end.
Without PostgreSQL installed the PostgreSQL cases skip with one line naming the package,
and fail instead under ``DISCOVER_TEST_REQUIRE_ALL=1`` (see ``tests/system_components.py``);
``DISCOVER_TEST_ASSUME_MISSING=postgres`` skips them on purpose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.system_components import POSTGRES_URL_ENV, Component, hidden, require

POSTGRES_SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"
# PostgreSQL cases are slow (a server per session, a database per test): the fast loop
# runs each archive case on SQLite only; CI runs both.
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.slow))


def _postgres_script(*args: str) -> str:
    """Run ``.ci/postgres.sh`` and return its stdout; fail the test with its stderr."""
    proc = subprocess.run(["bash", str(POSTGRES_SCRIPT), *args], capture_output=True,
                          text=True, timeout=180, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{POSTGRES_SCRIPT.name} {args[0]} failed: {proc.stderr.strip()}",
                    pytrace=False)
    return proc.stdout.strip()


def _check_reachable(url: str, origin: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        pytest.fail(f"cannot reach the PostgreSQL server at {origin}: {exc}", pytrace=False)
    finally:
        engine.dispose()


# Runs beside the session: it blocks on a pipe only the session holds open, so it
# wakes when the session ends however it ends (SIGKILL included) and stops the
# cluster; a normal end stops it first and the reaper's stop finds nothing to do.
_REAPER = """
import subprocess, sys
sys.stdin.buffer.read()
subprocess.run(["bash", sys.argv[1], "stop", sys.argv[2]], capture_output=True, timeout=120)
"""


def start_reaper(scratch: str) -> subprocess.Popen[bytes]:
    """A process that stops the cluster in ``scratch`` once this process has gone.

    Without it a cluster started by a test session that was killed (SIGKILL, an
    out-of-memory kill, a CI timeout) kept running, holding its port and directory.
    """
    return subprocess.Popen([sys.executable, "-c", _REAPER, str(POSTGRES_SCRIPT), scratch],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The server URL: ``DISCOVER_TEST_POSTGRES_URL``, or a cluster started for the session."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url and not hidden(Component.POSTGRES):
        _check_reachable(url, f"{POSTGRES_URL_ENV}={url}")
        yield url
        return
    require(Component.POSTGRES)  # skips (or fails) when the server programs are missing
    # Not pytest's tmp_path: its parents are private to root, and the cluster may run
    # as the postgres user.
    scratch = tempfile.mkdtemp(prefix="discover-test-postgres-")
    reaper = start_reaper(scratch)
    try:
        url = _postgres_script("start", scratch)
        _check_reachable(url, f"the cluster started in {scratch}")
        yield url
    finally:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", scratch], capture_output=True,
                       timeout=120, check=False)
        if reaper.stdin is not None:
            reaper.stdin.close()
        reaper.wait(timeout=120)


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
