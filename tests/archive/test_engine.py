"""Opening archives: URLs, default location, SQLite settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive import Archive, ArchiveError, NotFoundError, Synchronous
from archive.engine import resolve_url, sqlite_pragma


def test_default_location_is_created_under_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Archive.open() as archive:
        assert (tmp_path / "runs" / "discover.sqlite").is_file()
        assert archive.url == f"sqlite:///{tmp_path / 'runs' / 'discover.sqlite'}"


def test_sqlite_settings(sqlite_archive: Archive) -> None:
    engine = sqlite_archive.engine
    assert sqlite_pragma(engine, "journal_mode") == "wal"
    assert sqlite_pragma(engine, "foreign_keys") == 1
    assert sqlite_pragma(engine, "busy_timeout") >= 10_000
    assert sqlite_pragma(engine, "synchronous") == 1  # NORMAL


def test_full_synchronous_on_request(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.sqlite", synchronous="FULL") as archive:
        assert sqlite_pragma(archive.engine, "synchronous") == 2
    with pytest.raises(ValueError):
        Synchronous("OFF")


def test_url_forms(tmp_path: Path) -> None:
    assert resolve_url("x/a.sqlite", cwd=tmp_path).database == str(tmp_path / "x" / "a.sqlite")
    assert resolve_url("sqlite:///rel.sqlite", cwd=tmp_path).database == str(
        tmp_path / "rel.sqlite")
    assert resolve_url(f"sqlite:///{tmp_path}/abs.sqlite").database == str(
        tmp_path / "abs.sqlite")
    assert resolve_url("sqlite://").database in (None, "")
    pg = resolve_url("postgresql+psycopg://u:secret@host/db")
    assert pg.get_backend_name() == "postgresql" and pg.database == "db"
    with pytest.raises(ArchiveError, match="not a database URL"):
        resolve_url("nonsense://::")


def test_parent_directories_are_created(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "a.sqlite"
    with Archive.open(f"sqlite:///{target}"):
        assert target.is_file()


def test_in_memory_archive_works() -> None:
    with Archive.open("sqlite://") as archive:
        run = archive.create_run("smtt", {}, seed=0)
        assert archive.run(run).id == run


def test_read_only_open_does_not_create(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no archive"):
        Archive.open(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def test_unusable_database_gives_an_archive_error(tmp_path: Path) -> None:
    bad = tmp_path / "not_a_db.sqlite"
    bad.write_text("this is not a database" * 100)
    with pytest.raises(ArchiveError, match="cannot open archive"):
        Archive.open(f"sqlite:///{bad}")


def test_missing_driver_gives_an_archive_error() -> None:
    with pytest.raises(ArchiveError, match="cannot open archive"):
        Archive.open("postgresql+nosuchdriver://user:pw@localhost/db")
