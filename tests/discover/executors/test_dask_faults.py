"""Faults on a real Dask cluster: a worker killed mid-evaluation, the scheduler lost mid-run.

Scheduler and workers are separate processes on 127.0.0.1. Whatever happens,
the archive must end up holding exactly what a local run of the same seed
holds: nothing lost, nothing recorded twice, nothing changed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from distributed import Client

from archive import Archive, RunStatus
from discover.config import RunConfig
from discover.executors import open_executor
from discover.executors.dask_pool import FETCH_TIMEOUT, RemoteSandboxPool
from discover.executors.errors import ExecutorError
from discover.reporting.events import CandidateEvaluated, Event
from discover.runner import run
from evaluators.base import GeneratorSpec
from evaluators.registry import get_problem
from sandbox import evaluate
from tests.discover.executors.dask_cluster import DaskProcesses
from tests.discover.loop_fixtures import assert_consistent, small_config
from tests.discover.run_history import portable_history

pytestmark = pytest.mark.slow

BUDGET = 30
SEED = 3
IN_FLIGHT = 2


def _config(directory: Path, executor: str = "local") -> RunConfig:
    return small_config(directory, budget=BUDGET, seed=SEED,
                        workers=IN_FLIGHT).with_overrides(executor=executor)


def _dask(address: str) -> str:
    return "dask://" + address.removeprefix("tcp://")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[object, ...]]:
    """The programs of the same run on the local executor."""
    config = _config(tmp_path_factory.mktemp("reference"))
    result = run(config)
    assert result.evaluated == BUDGET
    return portable_history(config.archive or "", result.run_id)


class WorkerKiller:
    """After ``after`` evaluations, SIGKILLs ``victim`` while it is running an evaluation
    (or does ``strike`` to it instead)."""

    def __init__(self, procs: DaskProcesses, victim: str, after: int,
                 strike: Callable[[subprocess.Popen[bytes]], None] | None = None) -> None:
        self.procs, self.victim, self.after = procs, victim, after
        self.strike = strike or procs.kill
        self.seen = 0
        self.ready = threading.Event()
        self.killed_during: str | None = None
        self.thread = threading.Thread(target=self._hunt, daemon=True)
        self.thread.start()

    def on_event(self, event: Event) -> None:
        if isinstance(event, CandidateEvaluated):
            self.seen += 1
            if self.seen >= self.after:
                self.ready.set()

    def _hunt(self) -> None:
        with Client(self.procs.address, timeout=60, set_as_default=False) as client:
            workers = client.scheduler_info()["workers"]
            address = next(a for a, w in workers.items() if w["name"] == self.victim)
            self.ready.wait(timeout=600)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                busy = [k for k in client.processing().get(address, ())
                        if str(k).startswith("discover-eval")]
                if busy:
                    self.strike(self.procs.workers[self.victim])
                    self.killed_during = str(busy[0])
                    return
                time.sleep(0.002)


def test_a_worker_killed_mid_evaluation_loses_and_duplicates_nothing(
        tmp_path: Path, reference: list[tuple[object, ...]]) -> None:
    procs = DaskProcesses(tmp_path)
    try:
        procs.start_cluster("w1", "w2", "w3")
        killer = WorkerKiller(procs, "w1", after=6)
        config = _config(tmp_path, _dask(procs.address))
        result = run(config, callbacks=[killer])
        killer.thread.join(timeout=5)
        assert killer.killed_during is not None, "the victim was never caught evaluating"
        assert procs.workers["w1"].poll() is not None
    finally:
        procs.close()
    assert result.status == "finished" and result.evaluated == BUDGET
    with Archive.open(config.archive) as archive:
        assert_consistent(archive.run_state(result.run_id), BUDGET)
    assert portable_history(config.archive or "", result.run_id) == reference


def test_a_stalled_worker_does_not_stall_the_run(
        tmp_path: Path, reference: list[tuple[object, ...]]) -> None:
    """A worker frozen mid-evaluation (SIGSTOP) keeps its task; the run must not wait for the
    scheduler to give up on it (minutes): the straggler is re-run on the other worker."""
    procs = DaskProcesses(tmp_path)
    try:
        procs.start_cluster("w1", "w2")
        staller = WorkerKiller(procs, "w1", after=6, strike=procs.freeze)
        config = _config(tmp_path, _dask(procs.address))
        started = time.monotonic()
        result = run(config, callbacks=[staller])
        elapsed = time.monotonic() - started
        staller.thread.join(timeout=5)
        assert staller.killed_during is not None, "the victim was never caught evaluating"
        assert procs.workers["w1"].poll() is None  # frozen, not dead: still holding its task
    finally:
        procs.close()
    assert result.status == "finished" and result.evaluated == BUDGET
    # Dask itself would wait for the frozen worker's heartbeat timeout (300 s by default).
    assert elapsed < 200, f"the run took {elapsed:.0f} s: it waited for the frozen worker"
    with Archive.open(config.archive) as archive:
        assert_consistent(archive.run_state(result.run_id), BUDGET)
    assert portable_history(config.archive or "", result.run_id) == reference


def test_evaluations_keep_off_a_frozen_worker_once_its_heartbeat_stops(tmp_path: Path) -> None:
    """Once a frozen worker's stuck evaluation is cancelled (its copy finished elsewhere),
    the scheduler sees the worker idle and hands it the next evaluation, which waits for
    speculation again: one stall of ``speculate_after`` per evaluation it gets, for minutes.
    The pool must notice the silent heartbeat and keep later evaluations off it."""
    smtt = get_problem("smtt")
    instances = list(smtt.generate(GeneratorSpec(n=10, count=1), np.random.default_rng(5)))[:6]
    code = smtt.seed_programs["mdd"]
    procs = DaskProcesses(tmp_path)
    rounds: list[float] = []
    try:
        procs.start_cluster("w1", "w2")
        with open_executor(_dask(procs.address), workers=2, worker_timeout=120) as executor, \
                ThreadPoolExecutor(max_workers=IN_FLIGHT) as threads:
            pool = executor.pool
            assert isinstance(pool, RemoteSandboxPool) and pool.speculate_after is not None
            assert evaluate(smtt, instances, code, pool, 5.0).ok
            procs.freeze(procs.workers["w1"])
            for _ in range(6):  # two at a time, like the loop: one finds w1 "idle"
                started = time.monotonic()
                results = list(threads.map(
                    lambda _: evaluate(smtt, instances, code, pool, 5.0), range(IN_FLIGHT)))
                rounds.append(time.monotonic() - started)
                assert all(r.ok for r in results)
            speculated = pool.speculated
            procs.thaw()
    finally:
        procs.close()
    # The first round may wait for the frozen worker (that is how it is found out) ...
    assert rounds[0] < 60, rounds
    # ... no later one may: each would have paid speculate_after (5 s) on the frozen worker.
    assert max(rounds[1:]) < pool.speculate_after, rounds
    assert speculated <= IN_FLIGHT, f"{speculated} evaluations were re-run: {rounds}"


def _evaluated(path: str) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("select count(*) from programs "
                                  "where duplicate_of is null").fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


def test_a_lost_scheduler_stops_the_run_clearly_and_resume_completes_it(
        tmp_path: Path, reference: list[tuple[object, ...]]) -> None:
    first = DaskProcesses(tmp_path / "first")
    first.directory.mkdir()
    second = DaskProcesses(tmp_path / "second")
    second.directory.mkdir()
    try:
        first.start_scheduler()
        first.add_worker("a1")
        config = _config(tmp_path, _dask(first.address))
        (tmp_path / "run.toml").write_text(config.to_toml())
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "discover.cli", "run", "--config", str(tmp_path / "run.toml"),
             "--progress", "quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            start_new_session=True)
        try:
            path = (config.archive or "").removeprefix("sqlite:///")
            deadline = time.monotonic() + 300
            while _evaluated(path) < 8:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "the run did not get going"
                time.sleep(0.05)
            assert first.scheduler is not None
            first.kill(first.scheduler)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        message = err.decode()
        assert proc.returncode == 1, message
        assert "scheduler" in message and "discover run --resume 1" in message, message
        assert "Traceback" not in message, message
        with Archive.open(config.archive) as archive:
            before = archive.run_state(1)
        assert before.run.status is RunStatus.INTERRUPTED
        assert 8 <= before.counters.evaluated < BUDGET
        first.close()

        second.start_scheduler()
        second.add_worker("b1")
        result = run(config.with_overrides(executor=_dask(second.address)), resume=1)
    finally:
        first.close()
        second.close()
    assert result.status == "finished" and result.evaluated == BUDGET
    with Archive.open(config.archive) as archive:
        after = archive.run_state(1)
    assert_consistent(after, BUDGET)
    kept = {ps.id: ps.program.code for ps in after.programs}
    assert all(kept.get(ps.id) == ps.program.code for ps in before.programs)
    assert portable_history(config.archive or "", 1) == reference


def test_a_fetch_from_a_frozen_worker_gives_up_once_the_caller_is_settled(
        tmp_path: Path) -> None:
    """The fetch of a result held by a frozen worker runs in bounded attempts: results on
    healthy workers still arrive, and the stuck fetch ends once another copy has settled
    the caller (instead of hanging the fetch thread, and with it Dask's merged fetches)."""
    procs = DaskProcesses(tmp_path)
    try:
        procs.start_cluster("w1", "w2")
        with Client(procs.address, timeout=60, set_as_default=False) as client:
            by_name = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
            held, healthy = (client.submit(bytes, 3, workers=[by_name[name]],
                                           allow_other_workers=False, pure=False)
                             for name in ("w1", "w2"))
            assert [f.result(timeout=60) for f in (held, healthy)] == [bytes(3)] * 2
            pool = RemoteSandboxPool(client)
            procs.freeze(procs.workers["w1"])
            settled = threading.Event()
            ended: list[BaseException] = []

            def fetch_held() -> None:
                try:
                    pool._fetch(held, settled.is_set)
                except BaseException as exc:  # what ends the attempts is the point
                    ended.append(exc)

            thread = threading.Thread(target=fetch_held, daemon=True)
            thread.start()
            assert pool._fetch(healthy, lambda: False) == bytes(3)
            time.sleep(FETCH_TIMEOUT + 1)
            assert thread.is_alive(), "the frozen worker's result cannot have arrived"
            settled.set()
            thread.join(timeout=2 * FETCH_TIMEOUT)
            assert not thread.is_alive(), "the fetch kept waiting after the caller was settled"
            assert len(ended) == 1 and type(ended[0]) is ExecutorError, ended
            assert pool.lost is None
            pool.close()
            procs.thaw()
    finally:
        procs.close()
