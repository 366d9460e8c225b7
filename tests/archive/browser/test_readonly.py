"""The browser opens archives read-only and refuses what it cannot show."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive import Archive, NotFoundError, SchemaError
from archive.browser import BrowserApp, open_readonly
from archive.errors import ArchiveError
from archive.migrate import downgrade
from tests.archive.browser.conftest import BrowserArchive


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_browsing_changes_nothing_and_writes_fail(browser_archive: BrowserArchive,
                                                  tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite"
    with Archive.open(browser_archive.path, create=False) as store, \
            store.engine.connect() as c:  # fold the WAL into the file before copying
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(browser_archive.path, copy)
    before = digest(copy)
    archive = open_readonly(copy)
    app = BrowserApp(archive)
    pid = browser_archive.main.program_ids[40]
    for path in ("/", f"/run/{browser_archive.main.run_id}", f"/program/{pid}",
                 f"/program/{pid}/lineage", f"/compare?a={pid}&b={pid + 1}"):
        assert app.handle("GET", path).status == 200
    with Session(archive.engine) as session, pytest.raises(sa.exc.OperationalError,
                                                           match=r"readonly|read-only"):
        session.connection().exec_driver_sql("DELETE FROM programs")
    archive.close()
    assert digest(copy) == before
    assert archive.enforced and archive.display_url.endswith("copy.sqlite")


def test_missing_file_memory_and_old_schema_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no archive"):
        open_readonly(tmp_path / "absent.sqlite")
    assert not (tmp_path / "absent.sqlite").exists()
    with pytest.raises(ArchiveError, match="in-memory"):
        open_readonly("sqlite://")
    old = tmp_path / "old.sqlite"
    with Archive.open(old) as store:
        downgrade(store.engine, "0001")
    with pytest.raises(SchemaError, match="read-only and does not migrate"):
        open_readonly(old)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(SchemaError, match="is empty"):
        open_readonly(empty)
