"""Schema migrations: the packaged revisions build the models' schema and upgrade old files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive import (
    Archive,
    EdgeRole,
    EvaluationStatus,
    InstanceResult,
    Parent,
    SchemaError,
    Split,
)
from archive.engine import create_archive_engine, resolve_url
from archive.migrate import current_revision, downgrade, head_revision, upgrade
from archive.models import Base
from tests.archive.conftest import make_program

FIRST = "0001"


def _schema_diff(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrations_build_exactly_the_models(archive: Archive) -> None:
    assert _schema_diff(archive.engine) == []
    assert current_revision(archive.engine) == head_revision()


def _old_archive(path: Path) -> sa.Engine:
    """A database as the first schema revision wrote it, with one run of data."""
    engine = create_archive_engine(resolve_url(f"sqlite:///{path}"))
    upgrade(engine, FIRST)
    now = dt.datetime(2025, 1, 2, 3, 4, 5)
    per_instance = json.dumps([{"i": "n20#0", "o": 12.0, "g": 0.5}])
    with engine.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO runs (id, problem, config, seed, package_versions, isolation, budget, "
            "status, started_at) VALUES (1, 'smtt', '{\"budget\": 3}', 11, '{}', 'none', 3, "
            "'running', ?)", (now,))
        for pid, code in ((1, "def schedule(p, d):\n    return list(range(len(p)))\n"),
                          (2, "def schedule(p, d):\n    return sorted(range(len(p)))\n")):
            c.exec_driver_sql(
                "INSERT INTO programs (id, run_id, code, code_hash, island, generation, operator, "
                "idea, created_at) VALUES (?, 1, ?, ?, 0, ?, 'modify', NULL, ?)",
                (pid, code, f"hash{pid}", pid - 1, now))
        c.exec_driver_sql("INSERT INTO lineage_edges (parent_id, child_id, role) "
                          "VALUES (1, 2, 'mutation')")
        c.exec_driver_sql(
            "INSERT INTO evaluations (program_id, split, status, score, gap, seconds, error, "
            "per_instance, created_at) VALUES (2, 'train', 'ok', 0.5, 0.5, 1.0, NULL, ?, ?)",
            (per_instance, now))
        c.exec_driver_sql(
            "INSERT INTO model_calls (run_id, program_id, provider, model, prompt, response, "
            "tokens_in, tokens_out, cost, latency, error, created_at) "
            "VALUES (1, 2, 'openai', 'gpt', 'p', 'r', 10, 20, 0.01, 1.0, NULL, ?)", (now,))
    return engine


def test_old_schema_upgrades_on_open_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = _old_archive(path)
    assert current_revision(old) == FIRST
    columns = {c["name"] for c in sa.inspect(old).get_columns("programs")}
    assert "duplicate_of" not in columns
    old.dispose()

    with Archive.open(f"sqlite:///{path}") as archive:
        assert current_revision(archive.engine) == head_revision()
        assert _schema_diff(archive.engine) == []
        detail = archive.program(2)
        assert detail.parents == (Parent(1, EdgeRole.MUTATION),)
        assert detail.program.generation == 1 and detail.program.code_hash == "hash2"
        assert detail.program.behaviour_hash is None and detail.duplicate_of is None
        train = detail.evaluations[Split.TRAIN]
        assert train.status is EvaluationStatus.OK
        assert train.per_instance == (InstanceResult("n20#0", objective=12.0, gap=0.5),)
        assert detail.created_at == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        # The upgraded archive takes what revision 0002 added.
        dup = archive.record_candidate(1, make_program(0), duplicate_of=2)
        assert archive.program(dup).duplicate_of == 2
        state = archive.run_state(1)
        assert (state.counters.evaluated, state.counters.duplicates) == (2, 1)
        assert state.remaining_budget == 1


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    path = tmp_path / "cycle.sqlite"
    _old_archive(path).dispose()
    with Archive.open(f"sqlite:///{path}") as archive:
        engine = archive.engine
        assert downgrade(engine, FIRST)
        assert current_revision(engine) == FIRST
        assert upgrade(engine)
        assert not upgrade(engine)  # already current: nothing to do
        assert archive.program(2).evaluations[Split.TRAIN].score == 0.5


def test_archive_from_a_newer_discover_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    Archive.open(f"sqlite:///{path}").close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
    engine.dispose()
    with pytest.raises(SchemaError, match="newer discover"):
        Archive.open(f"sqlite:///{path}")


def _archive_at_0002_with_timeouts(url: str) -> None:
    """A database as revision 0002 wrote it: one too-slow and one real time-out, both 'timeout'."""
    engine = create_archive_engine(resolve_url(url))
    upgrade(engine, "0002")
    now = dt.datetime(2025, 1, 2, 3, 4, 5)
    insert_evaluation = sa.text(
        "INSERT INTO evaluations (program_id, split, status, score, gap, seconds, error, "
        "per_instance, created_at) VALUES (:pid, 'train', 'timeout', NULL, NULL, 1.0, :error, "
        "'[]', :now)")
    with engine.begin() as c:
        c.execute(sa.text(
            "INSERT INTO runs (id, problem, config, seed, package_versions, isolation, budget, "
            "status, started_at) VALUES (1, 'smtt', '{}', 1, '{}', 'none', 3, 'running', :now)"),
            {"now": now})
        for pid in (1, 2):
            c.execute(sa.text(
                "INSERT INTO programs (id, run_id, code, code_hash, island, generation, "
                "operator, created_at) VALUES (:pid, 1, :code, :hash, 0, :pid, 'modify', :now)"),
                {"pid": pid, "code": f"def schedule(p, d):\n    return [{pid}]\n",
                 "hash": f"hash{pid}", "now": now})
        c.execute(insert_evaluation, {"pid": 1, "now": now, "error": (
            "too slow: median 9.00 ms per instance, limit 5.00 ms (a multiple of the "
            "reference heuristic's time)")})
        c.execute(insert_evaluation, {"pid": 2, "now": now,
                                      "error": "timeout: the deadline of 2.0 s was hit"})
    engine.dispose()


def test_revision_0003_gives_too_slow_its_own_status(database_url: str) -> None:
    _archive_at_0002_with_timeouts(database_url)
    with Archive.open(database_url) as archive:
        assert current_revision(archive.engine) == head_revision()
        statuses = [archive.program(pid).evaluations[Split.TRAIN].status for pid in (1, 2)]
        assert statuses == [EvaluationStatus.TOO_SLOW, EvaluationStatus.TIMEOUT]
        assert downgrade(archive.engine, "0002")
        with archive.engine.connect() as c:
            rows = c.execute(sa.text("SELECT status FROM evaluations ORDER BY program_id"))
            assert [r[0] for r in rows] == ["timeout", "timeout"]
        assert upgrade(archive.engine)
        assert archive.program(1).evaluations[Split.TRAIN].status is EvaluationStatus.TOO_SLOW


def test_revision_0004_adds_timing_steps_and_keeps_old_rows(database_url: str) -> None:
    _archive_at_0002_with_timeouts(database_url)
    with Archive.open(database_url) as archive:
        assert current_revision(archive.engine) == head_revision()
        # Rows written before the column have no count.
        assert archive.program(1).evaluations[Split.TRAIN].steps is None
        # The column holds counts beyond 32 bits (a BIGINT: counts grow with n).
        with archive.engine.begin() as c:
            c.execute(sa.text("UPDATE evaluations SET steps = 5000000000 WHERE program_id = 2"))
        assert archive.program(2).evaluations[Split.TRAIN].steps == 5_000_000_000
        assert downgrade(archive.engine, "0003")
        columns = {c["name"] for c in sa.inspect(archive.engine).get_columns("evaluations")}
        assert "steps" not in columns
        assert upgrade(archive.engine)
        assert archive.program(2).evaluations[Split.TRAIN].steps is None
