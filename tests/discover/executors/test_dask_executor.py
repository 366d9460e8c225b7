"""The Dask executor on a real scheduler and workers (separate processes on 127.0.0.1).

Each worker runs the sandbox; what comes back must be exactly what the local
sandbox produces, scored the same way on this side.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from discover.executors import ExecutorError, ExecutorLost, PoolClosed, open_executor
from discover.executors.dask_executor import DaskExecutor
from discover.splits.references import compute_references
from evaluators.base import GeneratorSpec
from evaluators.registry import get_problem
from sandbox import OutcomeStatus, SandboxPool, evaluate
from sandbox.scoring import payload_set
from tests.discover.executors.dask_cluster import DaskProcesses

pytestmark = pytest.mark.slow

SMTT = get_problem("smtt")

CANDIDATES = {
    "mdd": SMTT.seed_programs["mdd"],
    "raises": "def schedule(processing_times, due_dates):\n    raise ValueError('no idea')\n",
    "invalid": "def schedule(processing_times, due_dates):\n    return [0] * len(due_dates)\n",
    "too_slow": "def schedule(processing_times, due_dates):\n    while True:\n        pass\n",
    "forbidden": ("import os\n\ndef schedule(processing_times, due_dates):\n"
                  "    return list(range(len(due_dates)))\n"),
    "rejected": "def schedule(processing_times, due_dates):\n    return open('/etc/passwd')\n",
    "noisy": ("def schedule(processing_times, due_dates):\n    print('hello ' * 5)\n"
              "    return sorted(range(len(due_dates)), key=lambda j: due_dates[j])\n"),
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A scheduler and two single-threaded workers."""
    procs = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        procs.start_scheduler()
        procs.add_worker("w1")
        procs.add_worker("w2")
        yield procs
    finally:
        procs.close()


@pytest.fixture(scope="module")
def executor(cluster: DaskProcesses) -> Iterator[DaskExecutor]:
    """A Dask executor connected to the cluster, both workers' sandboxes started."""
    opened = open_executor("dask://" + cluster.address.removeprefix("tcp://"), workers=2,
                           worker_timeout=120)
    assert isinstance(opened, DaskExecutor)
    opened.client.wait_for_workers(2, timeout=120)
    with opened:
        yield opened


@pytest.fixture(scope="module")
def instances() -> list[object]:
    """Six generated SMTT instances of 10 jobs."""
    return list(SMTT.generate(GeneratorSpec(n=10, count=1), np.random.default_rng(5)))[:6]


def test_workers_report_their_sandbox_isolation(executor: DaskExecutor) -> None:
    pool = executor.pool
    assert len(pool.worker_levels) == 2  # type: ignore[attr-defined]
    with SandboxPool(workers=1) as local:
        assert pool.isolation_level == local.isolation_level


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_remote_evaluation_equals_local(executor: DaskExecutor, instances: list[object],
                                        name: str) -> None:
    code = CANDIDATES[name]
    check = name == "rejected"  # the others reach the sandbox, as in the cascade
    remote = evaluate(SMTT, instances, code, executor.pool, 2.0, check=check)
    with SandboxPool(workers=1) as local_pool:
        local = evaluate(SMTT, instances, code, local_pool, 2.0, check=check)
    assert remote.status is local.status
    assert remote.objectives == local.objectives
    assert remote.outcome.outputs == local.outcome.outputs
    assert remote.failures == local.failures
    assert remote.outcome.stdout == local.outcome.stdout
    error, local_error = remote.outcome.error, local.outcome.error
    assert (error is None) == (local_error is None)
    if error is not None and local_error is not None:
        assert (error.exception_type, error.refused) == \
            (local_error.exception_type, local_error.refused)
    expected = {"mdd": OutcomeStatus.OK, "raises": OutcomeStatus.EXCEPTION,
                "invalid": OutcomeStatus.INVALID_OUTPUT, "too_slow": OutcomeStatus.TIMEOUT,
                "forbidden": OutcomeStatus.FORBIDDEN, "noisy": OutcomeStatus.OK,
                "rejected": OutcomeStatus.PRECHECK_FAILED}
    assert remote.status is expected[name]


def test_step_counts_and_the_step_limit_reach_the_workers(executor: DaskExecutor,
                                                          instances: list[object]) -> None:
    counted = evaluate(SMTT, instances, CANDIDATES["mdd"], executor.pool, 10.0, check=False,
                       count_steps=True)
    with SandboxPool(workers=1) as local_pool:
        local = evaluate(SMTT, instances, CANDIDATES["mdd"], local_pool, 10.0, check=False,
                         count_steps=True)
    assert counted.ok and counted.outcome.steps == local.outcome.steps
    total = counted.outcome.total_steps
    assert total is not None
    stopped = evaluate(SMTT, instances, CANDIDATES["mdd"], executor.pool, 10.0, check=False,
                       count_steps=True, step_limit=total - 1)
    assert stopped.outcome.step_limit_reached, stopped.message
    assert stopped.outcome.steps == counted.outcome.steps[:-1]
    with pytest.raises(ValueError, match="step_limit"):
        executor.pool.submit(CANDIDATES["mdd"], SMTT.candidate_spec, [], 10.0, step_limit=5)


def test_references_solved_on_the_workers_equal_local_ones(executor: DaskExecutor,
                                                           instances: list[object]) -> None:
    assert executor.map_ordered is not None
    remote = compute_references(SMTT, instances, "dp", mapper=executor.map_ordered)
    local = compute_references(SMTT, instances, "dp")
    assert [r.objective for r in remote] == [r.objective for r in local]
    assert all(r.is_optimal for r in remote)


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ExecutorError, match=f"cannot reach the Dask scheduler.*{port}"):
        open_executor(f"dask://127.0.0.1:{port}", workers=1, connect_timeout=2)


def test_dask_local_cluster_evaluates_like_the_local_pool(instances: list[object],
                                                          tmp_path: Path) -> None:
    with open_executor("dask-local:1", workers=1) as dask_local:
        remote = evaluate(SMTT, instances, CANDIDATES["mdd"], dask_local.pool, 5.0)
    with open_executor("local", workers=1) as local:
        expected = evaluate(SMTT, instances, CANDIDATES["mdd"], local.pool, 5.0)
    assert remote.ok and remote.objectives == expected.objectives


def test_a_lost_executor_refuses_new_work(cluster: DaskProcesses,
                                          instances: list[object]) -> None:
    # A second, private scheduler that this test may kill.
    private = DaskProcesses(cluster.directory / "private")
    private.directory.mkdir()
    try:
        address = private.start_scheduler()
        private.add_worker("p1")
        with open_executor("dask://" + address.removeprefix("tcp://"), workers=1,
                           worker_timeout=120) as lost:
            assert evaluate(SMTT, instances, CANDIDATES["mdd"], lost.pool, 5.0).ok
            assert private.scheduler is not None
            private.kill(private.scheduler)
            with pytest.raises(ExecutorLost, match="scheduler"):
                evaluate(SMTT, instances, CANDIDATES["too_slow"], lost.pool, 20.0, check=False)
            with pytest.raises(ExecutorLost):
                evaluate(SMTT, instances, CANDIDATES["mdd"], lost.pool, 5.0)
    finally:
        private.close()


@pytest.mark.parametrize("lost", [False, True], ids=["closed", "lost-then-closed"])
def test_closing_fails_evaluations_in_flight_with_what_ended_the_run(
        cluster: DaskProcesses, instances: list[object], lost: bool) -> None:
    """An evaluation cut by ``close()`` is not its candidate's failure: it fails with
    ``PoolClosed``, or with the loss that made the run close the pool (a run that lost
    its scheduler must not report the evaluations it abandoned as crashes)."""
    with open_executor("dask://" + cluster.address.removeprefix("tcp://"), workers=1,
                       worker_timeout=120) as private:
        pool = private.pool
        future = pool.submit(CANDIDATES["too_slow"], SMTT.candidate_spec,
                             payload_set(SMTT, instances), 20.0, check=False)
        time.sleep(0.5)
        assert not future.done()
        if lost:
            pool._declare_lost("a test cut")  # as the watchdog or a failed fetch does
        pool.close()
        error = future.exception(timeout=10)
    expected = ExecutorLost if lost else PoolClosed
    assert type(error) is expected, error
    assert ("a test cut" in str(error)) is lost


def test_a_cluster_without_workers_stops_waiting_evaluations(cluster: DaskProcesses,
                                                             instances: list[object]) -> None:
    private = DaskProcesses(cluster.directory / "empty")
    private.directory.mkdir()
    try:
        address = private.start_scheduler()
        worker = private.add_worker("e1")
        with open_executor("dask://" + address.removeprefix("tcp://"), workers=1,
                           worker_timeout=120, no_worker_timeout=3) as idle:
            assert evaluate(SMTT, instances, CANDIDATES["mdd"], idle.pool, 5.0).ok
            private.kill(worker)
            start = time.monotonic()
            with pytest.raises(ExecutorLost, match="no worker was connected for 3 s"):
                evaluate(SMTT, instances, CANDIDATES["mdd"], idle.pool, 5.0)
            assert time.monotonic() - start < 30
    finally:
        private.close()
