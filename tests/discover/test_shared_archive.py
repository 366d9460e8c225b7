"""One archive in a PostgreSQL server shared by several processes, and every command on it.

Runs use a fresh database on the test PostgreSQL server (see
``tests/postgres_fixtures.py``; skipped without PostgreSQL installed): two loops in
separate processes write separate runs into it at the same time, and each run must hold exactly what
the same run holds alone in a SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, CachedReference, ReferenceStatus, RunStatus
from discover.cli import main
from discover.config import RunConfig
from discover.runner import run
from tests.discover.loop_fixtures import assert_consistent, small_config
from tests.discover.run_history import portable_history

pytestmark = pytest.mark.slow

BUDGET = 12


def _start_run(config: RunConfig, path: Path) -> subprocess.Popen[str]:
    path.write_text(config.to_toml())
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    return subprocess.Popen([sys.executable, "-m", "discover.cli", "run", "--config", str(path),
                             "--progress", "quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_writers_caching_the_same_references_at_once_do_not_conflict(archive_url: str
                                                                     ) -> None:
    # Runs starting together on one server solve and cache the same training optima.
    Archive.open(archive_url).close()
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        with Archive.open(archive_url) as archive:
            start.wait()
            for i in range(25):
                try:
                    archive.put_reference(CachedReference(
                        f"instance-{i}", "dp", 100.0 + i, 100.0 + i if k % 2 else 90.0,
                        ReferenceStatus.OPTIMAL if k % 2 else ReferenceStatus.FEASIBLE, 0.1))
                except BaseException as exc:  # collected: the assertion below names it
                    errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    with Archive.open(archive_url) as archive:
        for i in range(25):
            cached = archive.get_reference(f"instance-{i}", "dp")
            assert cached is not None and cached.is_optimal and cached.objective == 100.0 + i


def test_two_loops_in_separate_processes_share_one_postgres_archive(
        tmp_path: Path, postgres_url: str) -> None:
    configs = [small_config(tmp_path, budget=BUDGET, seed=seed).with_overrides(
        archive=postgres_url) for seed in (1, 2)]
    procs = [_start_run(c, tmp_path / f"run{k}.toml") for k, c in enumerate(configs)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    with Archive.open(postgres_url) as archive:
        runs = {s.run.config["seed"]: s.run.id for s in archive.runs()}
        states = {seed: archive.run_state(run_id) for seed, run_id in runs.items()}
    assert sorted(runs) == [1, 2] and len(set(runs.values())) == 2
    for seed, state in states.items():
        assert state.run.status is RunStatus.FINISHED
        assert_consistent(state, BUDGET)
        own = {ps.id for ps in state.programs}
        assert all(p.program_id in own for ps in state.programs for p in ps.parents), \
            f"run of seed {seed} has a parent from the other run"
    for seed, config in zip((1, 2), configs, strict=True):
        alone_dir = tmp_path / f"alone{seed}"
        alone_dir.mkdir()
        alone = config.with_overrides(archive=f"sqlite:///{alone_dir / 'a.sqlite'}")
        result = run(alone)
        assert portable_history(postgres_url, runs[seed]) == \
            portable_history(alone.archive or "", result.run_id)


def _invoke(*args: str) -> str:
    """Run a ``discover`` command in this process; its output, or the failure."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_works_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    # The test server trusts local connections, so the password is ignored but travels.
    postgres_url = postgres_url.replace("://discover@", "://discover:s3cret-pw@")
    assert "s3cret-pw" in postgres_url
    config = small_config(tmp_path, budget=6, seed=4).with_overrides(archive=postgres_url)
    (tmp_path / "run.toml").write_text(config.to_toml())
    _invoke("run", "--config", str(tmp_path / "run.toml"), "--progress", "jsonl")
    with Archive.open(postgres_url) as archive:
        (summary,) = archive.runs()
        assert summary.counters.evaluated == 6
    run_id = summary.run.id
    # Resuming a finished run is refused in one line and changes nothing (not even its end).
    refused = CliRunner().invoke(main, ["run", "--resume", str(run_id), "--archive",
                                        postgres_url, "--progress", "jsonl"])
    assert refused.exit_code == 1
    assert f"run {run_id} is finished (6/6 evaluated); nothing to resume" in refused.output
    with Archive.open(postgres_url) as archive:
        state = archive.run_state(run_id)
    assert_consistent(state, 6)
    assert state.run.status is RunStatus.FINISHED
    assert state.run.finished_at == summary.run.finished_at
    assert "s3cret-pw" not in json.dumps(state.run.config), "the password was archived"

    listed = json.loads(_invoke("archive", "runs", "--json", "--archive", postgres_url))
    assert [r["run"]["id"] for r in listed] == [run_id]
    first, last = state.programs[0].id, state.programs[-1].id
    for command in (["best", f"r{run_id}"], ["show", str(first)], ["lineage", str(last)],
                    ["diff", str(first), str(last)]):
        _invoke("archive", *command, "--archive", postgres_url)
    _invoke("export", f"r{run_id}", "-o", str(tmp_path / "best.py"), "--archive", postgres_url)
    assert "s3cret-pw" not in (tmp_path / "best.py").read_text()
    check = subprocess.run([sys.executable, str(tmp_path / "best.py")], capture_output=True,
                           text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr

    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    server = subprocess.Popen([sys.executable, "-m", "discover.cli", "browse", "--archive",
                               postgres_url, "--port", "0", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        text = ""
        while not text.rstrip().endswith("}"):  # the JSON spans several lines
            line = server.stdout.readline()
            assert line, server.stderr.read() if server.stderr else "browse exited"
            text += line
        url = json.loads(text)["url"]
        for page in ("", f"run/{run_id}", f"program/{first}", f"program/{first}/code.py"):
            with urllib.request.urlopen(url.rstrip("/") + "/" + page, timeout=60) as response:
                assert response.status == 200
                body = response.read()
                assert b"def schedule" in body if page.endswith(".py") else \
                    b"<html" in body.lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
