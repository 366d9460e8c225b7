"""The discovery loop end to end with the offline engine: determinism, crash safety, resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from archive import Archive, RunStatus
from discover.config import RunConfig
from discover.runner import run
from tests.discover.loop_fixtures import assert_consistent, history, small_config

pytestmark = pytest.mark.slow


def test_run_meets_budget_and_validates(tmp_path: Path) -> None:
    config = small_config(tmp_path, budget=20, workers=2)
    result = run(config)
    assert result.status == "finished"
    assert result.evaluated == 20
    with Archive.open(config.archive) as archive:
        state = archive.run_state(result.run_id)
        assert_consistent(state, 20)
        assert state.run.status is RunStatus.FINISHED
        assert state.run.isolation == result.isolation
    assert result.best and result.best[0].validation_gap is not None
    assert {b.name for b in result.baselines} >= {"mdd", "mddc"}
    with Archive.open(config.archive) as archive:
        stored = archive.run(result.run_id).config["baselines"]
    assert {b["name"] for b in stored} >= {"mdd", "mddc"}
    assert all(b["runtime"] is not None and b["runtime"] > 0 for b in stored)
    # Seeds come first, as generation 0, and MDD scores what the in-process heuristic does.
    rows = history(config.archive or "", result.run_id)
    assert rows[0][0].lstrip().startswith("def schedule")


def test_same_seed_same_programs_and_scores(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = small_config(tmp_path / "a", budget=18, workers=2)
    second = small_config(tmp_path / "b", budget=18, workers=2)
    r1, r2 = run(first), run(second)
    assert history(first.archive or "", r1.run_id) == history(second.archive or "", r2.run_id)
    other = small_config(tmp_path / "a", budget=18, workers=2, seed=2)
    r3 = run(other)
    assert history(other.archive or "", r3.run_id) != history(first.archive or "", r1.run_id)


def _start(config_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    return subprocess.Popen(
        [sys.executable, "-m", "discover.cli", "run", "--config", str(config_path),
         "--progress", "quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


_COUNT = "select count(*) from programs where duplicate_of is null"


def _evaluated(url: str) -> int:
    """Programs evaluated so far, read without creating or migrating anything."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute(_COUNT).fetchone()[0])
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql(_COUNT).scalar_one())
    finally:
        engine.dispose()


def _wait_for_programs(url: str, count: int, proc: subprocess.Popen[bytes],
                       timeout: float = 180.0) -> None:
    """Poll the database directly (read-only) until ``count`` programs are evaluated."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("the run ended before it could be interrupted: "
                                 + (proc.stderr.read().decode() if proc.stderr else ""))
        try:
            if _evaluated(url) >= count:
                return
        except (sqlite3.Error, sa.exc.SQLAlchemyError):  # not created yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} programs after {timeout} s")


def _write(config: RunConfig, path: Path) -> Path:
    path.write_text(config.to_toml())
    return path


def test_sigkill_then_resume_loses_nothing(tmp_path: Path, archive_url: str) -> None:
    config = small_config(tmp_path, budget=90, workers=2).with_overrides(archive=archive_url)
    proc = _start(_write(config, tmp_path / "run.toml"))
    _wait_for_programs(config.archive or "", 12, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with Archive.open(config.archive) as archive:
        (summary,) = archive.runs()
        before = archive.run_state(summary.run.id)
    assert before.run.status is RunStatus.RUNNING  # killed: nobody marked it finished
    result = run(config, resume=summary.run.id)
    assert result.run_id == summary.run.id and result.evaluated == 90
    with Archive.open(config.archive) as archive:
        after = archive.run_state(summary.run.id)
    assert_consistent(after, 90)
    kept = {ps.id: ps.program.code for ps in after.programs}
    for ps in before.programs:
        assert kept.get(ps.id) == ps.program.code, f"program {ps.id} lost or changed"


def test_ctrl_c_resume_reaches_the_uninterrupted_best(tmp_path: Path) -> None:
    (tmp_path / "straight").mkdir()
    (tmp_path / "broken").mkdir()
    straight = small_config(tmp_path / "straight", budget=90, workers=1)
    reference = run(straight)
    broken = small_config(tmp_path / "broken", budget=90, workers=1)
    proc = _start(_write(broken, tmp_path / "broken.toml"))
    _wait_for_programs(broken.archive or "", 15, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"--resume" in err
    with Archive.open(broken.archive) as archive:
        (summary,) = archive.runs()
        assert archive.run(summary.run.id).status is RunStatus.INTERRUPTED
    resumed = run(broken, resume=summary.run.id)
    assert resumed.evaluated == 90
    assert history(broken.archive or "", resumed.run_id) == \
        history(straight.archive or "", reference.run_id)
    assert resumed.best[0].train_gap == reference.best[0].train_gap
