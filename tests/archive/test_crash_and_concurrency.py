"""Crash safety and concurrent writers, with real processes.

* Two processes create runs and write candidates into one new SQLite file at
  the same time (both also race to create the schema): both finish, no
  ``database is locked``.
* A writer is SIGKILLed at random moments and resumed from ``run_state``
  each time: no committed candidate is lost, none is written twice, nothing
  half-written remains, and the run ends with exactly its budget.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from archive import Archive, Split
from archive.engine import sqlite_pragma

WRITER = Path(__file__).with_name("writer_process.py")
ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WRITER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _check_consistent(archive: Archive, run: int) -> list[int]:
    """Every committed candidate is complete; returns candidate indices in insertion order."""
    if archive.engine.dialect.name == "sqlite":
        assert sqlite_pragma(archive.engine, "integrity_check") == "ok"
        with archive.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    state = archive.run_state(run)
    indices = []
    for k, p in enumerate(state.programs):
        assert set(p.evaluations) == {Split.TRAIN, Split.VALIDATION}
        assert all(len(e.per_instance) == 20 for e in p.evaluations.values())
        assert len(p.parents) == (0 if k == 0 else 1)
        assert p.program.idea is not None
        indices.append(int(p.program.idea.split()[-1]))
    assert state.counters.model_calls == len(state.programs)
    return indices


@pytest.mark.slow
def test_two_processes_write_one_new_archive(tmp_path: Path, database_url: str) -> None:
    url = database_url
    go = tmp_path / "go"
    writers = [_start(url, "--new-run", "150", "--wait-for", str(go)) for _ in range(2)]
    for w in writers:  # both have opened the archive and created their run ...
        assert w.stdout is not None and w.stdout.readline().startswith("ready")
    go.touch()  # ... and now write at the same time
    results = [w.communicate(timeout=300) for w in writers]
    for w, (out, err) in zip(writers, results, strict=True):
        assert "locked" not in err
        assert w.returncode == 0, err
        assert out.count("committed") == 150
    with Archive.open(url) as archive:
        runs = [s.run.id for s in archive.runs()]
        assert len(runs) == 2
        for run in runs:
            assert sorted(_check_consistent(archive, run)) == list(range(150))
        a, b = ([p.id for p in archive.run_state(r, per_instance=False).programs] for r in runs)
        # The writes really interleaved (ids are global and increase with commits).
        assert min(a) < max(b) and min(b) < max(a)


@pytest.mark.slow
def test_sigkill_loses_nothing_committed_and_resume_reaches_the_budget(database_url: str
                                                                     ) -> None:
    rng = np.random.default_rng(4)
    budget = 150
    url = database_url

    # A kill while the archive is being created must leave it openable.
    early = _start(url, "--new-run", str(budget))
    time.sleep(float(rng.uniform(0.05, 0.5)))
    early.send_signal(signal.SIGKILL)
    early.communicate()

    with Archive.open(url) as archive:
        runs = archive.runs()
        run = runs[0].run.id if runs else archive.create_run(
            "smtt", {"budget": budget}, seed=0, budget=budget)
    committed: set[int] = set()
    kills = 0
    while kills < 3:
        writer = _start(url, "--run", str(run), "--delay", "0.002")
        assert writer.stdout is not None
        ready = writer.stdout.readline()
        assert ready.startswith("ready"), writer.stderr.read() if writer.stderr else ""
        deadline = time.monotonic() + float(rng.uniform(0.05, 0.4))
        lines = []
        while time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            lines.append(line)
        os.kill(writer.pid, signal.SIGKILL)
        rest, _ = writer.communicate()
        kills += 1
        for line in lines + rest.splitlines():
            if line.startswith("committed"):
                committed.add(int(line.split()[1]))
        with Archive.open(url) as archive:
            indices = _check_consistent(archive, run)
        # Resume continues exactly where the last commit left off: no gap, no repeat.
        assert indices == list(range(len(indices)))
        assert committed <= set(indices)
        if len(indices) == budget:
            break
    final = _start(url, "--run", str(run))
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    with Archive.open(url) as archive:
        indices = _check_consistent(archive, run)
        assert indices == list(range(budget))
        assert archive.run_state(run).remaining_budget == 0
    assert kills >= 1
