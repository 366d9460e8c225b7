"""The pool: correct outputs, parallel submissions, worker restarts, the isolation report."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import (
    Layer,
    Limits,
    OutcomeStatus,
    PayloadSet,
    SandboxError,
    SandboxPool,
)
from sandbox.scoring import payload_set
from tests.sandbox.support import (
    EDD,
    TEST_LIMITS,
    assert_honest_scores_right,
    live_descendants,
    strict_expectation,
)
from tests.system_components import require_strict_sandbox


def test_isolation_report_is_complete(strict_pool: SandboxPool) -> None:
    launcher, level = strict_expectation()
    report = strict_pool.isolation_report
    assert report.complete
    assert strict_pool.isolation_level == level
    assert report.active == frozenset(Layer)
    assert report.launcher == launcher
    assert "uid 65534" in report.summary()
    data = report.as_dict()
    assert data["level"] == level
    assert all(v["active"] for v in data["layers"].values())


def test_outputs_match_in_process_execution(strict_pool: SandboxPool, smtt: SmttProblem,
                                            honest_instances: list[SmttInstance]) -> None:
    code = smtt.seed_programs["mdd"]
    payloads = [smtt.payload(i) for i in honest_instances]
    outcome = strict_pool.run(code, smtt.candidate_spec, payloads, time_limit=10.0)
    assert outcome.ok, outcome.describe()
    namespace: dict[str, object] = {}
    exec(code, namespace)
    expected = [namespace["schedule"](p["processing_times"], p["due_dates"])  # type: ignore[operator]
                for p in payloads]
    assert list(outcome.outputs) == expected
    assert len(outcome.seconds) == len(payloads)
    assert all(s >= 0 for s in outcome.seconds)
    assert 0 < outcome.total_seconds < 10
    assert outcome.cpu_seconds is not None and outcome.max_rss_kb is not None
    assert outcome.isolation_level == strict_expectation()[1]
    assert outcome.error is None


def test_candidate_gets_copies(strict_pool: SandboxPool, smtt: SmttProblem,
                               honest_instances: list[SmttInstance]) -> None:
    vandal = ("def schedule(processing_times, due_dates):\n"
              "    processing_times[:] = [1] * len(processing_times)\n"
              "    due_dates.clear()\n"
              "    return list(range(len(processing_times)))\n")
    pset = payload_set(smtt, honest_instances)
    assert strict_pool.run(vandal, smtt.candidate_spec, pset, 5.0).ok
    assert_honest_scores_right(strict_pool, smtt, honest_instances)


def test_prints_are_captured(strict_pool: SandboxPool, smtt: SmttProblem) -> None:
    code = ("def schedule(processing_times, due_dates):\n    print('hello from', len(due_dates))\n"
            "    return list(range(len(due_dates)))\n")
    outcome = strict_pool.run(code, smtt.candidate_spec,
                              [{"processing_times": [1, 2], "due_dates": [3, 4]}], 5.0)
    assert outcome.ok
    assert outcome.stdout == "hello from 2\n"


def test_exception_details(strict_pool: SandboxPool, smtt: SmttProblem) -> None:
    code = ("def schedule(processing_times, due_dates):\n"
            "    if len(due_dates) > 2:\n"
            "        return due_dates[99]\n"
            "    return list(range(len(due_dates)))\n")
    payloads = [{"processing_times": [1], "due_dates": [1]},
                {"processing_times": [1, 2, 3], "due_dates": [1, 2, 3]}]
    outcome = strict_pool.run(code, smtt.candidate_spec, payloads, 5.0)
    assert outcome.status is OutcomeStatus.EXCEPTION
    assert outcome.error is not None
    assert outcome.error.exception_type == "IndexError"
    assert outcome.error.payload_index == 1
    assert outcome.outputs == ([0],)  # the finished prefix
    assert any("return due_dates[99]" in line for line in outcome.error.traceback)


def test_exception_at_import(strict_pool: SandboxPool, smtt: SmttProblem) -> None:
    code = "x = 1 / 0\ndef schedule(processing_times, due_dates):\n    return []\n"
    outcome = strict_pool.run(code, smtt.candidate_spec,
                              [{"processing_times": [1], "due_dates": [1]}], 5.0)
    assert outcome.status is OutcomeStatus.EXCEPTION
    assert outcome.error is not None and outcome.error.payload_index is None
    assert "ZeroDivisionError at import" in outcome.error.message


def test_precheck_failure_costs_no_run(strict_pool: SandboxPool, smtt: SmttProblem) -> None:
    future = strict_pool.submit("import os\n", smtt.candidate_spec,
                                [{"processing_times": [1], "due_dates": [1]}], 5.0)
    assert future.done()
    outcome = future.result()
    assert outcome.status is OutcomeStatus.PRECHECK_FAILED
    assert outcome.error is not None and "import of 'os'" in outcome.error.message


def test_parallel_submissions(strict_pool: SandboxPool, smtt: SmttProblem,
                              honest_instances: list[SmttInstance]) -> None:
    pset = payload_set(smtt, honest_instances)
    codes = [EDD.replace("(due_dates[j], j)", f"(due_dates[j] + {k} * processing_times[j], j)")
             for k in range(12)]
    futures = [strict_pool.submit(code, smtt.candidate_spec, pset, 10.0) for code in codes]
    outcomes = [f.result(timeout=60) for f in futures]
    assert all(o.ok for o in outcomes)
    for k, outcome in enumerate(outcomes):
        for inst, order in zip(honest_instances, outcome.outputs, strict=True):
            key = [(inst.due_dates[j] + k * inst.processing_times[j], j) for j in range(inst.size)]
            assert order == sorted(range(inst.size), key=key.__getitem__)


def test_bad_arguments(strict_pool: SandboxPool, smtt: SmttProblem) -> None:
    payloads = [{"processing_times": [1], "due_dates": [1]}]
    for bad in (0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            strict_pool.submit(EDD, smtt.candidate_spec, payloads, bad)
    with pytest.raises(ValueError, match="JSON"):
        strict_pool.submit(EDD, smtt.candidate_spec, [{"x": object()}], 1.0)
    with pytest.raises(ValueError):
        PayloadSet.from_payloads([])
    with pytest.raises(ValueError):
        SandboxPool(workers=0)
    with pytest.raises(ValueError):
        SandboxPool(isolation="paranoid")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Limits(memory_mb=0)


@pytest.mark.slow
def test_restarts_after_worker_death_and_recycling(smtt: SmttProblem,
                                                   honest_instances: list[SmttInstance]) -> None:
    require_strict_sandbox()
    with SandboxPool(workers=1, isolation="strict", limits=TEST_LIMITS,
                     max_tasks_per_worker=3) as pool:
        first = pool.worker_pids()
        for _ in range(3):
            assert_honest_scores_right(pool, smtt, honest_instances)
        assert_honest_scores_right(pool, smtt, honest_instances)  # fourth: a fresh worker
        second = pool.worker_pids()
        assert second != first
        os.kill(second[0], signal.SIGKILL)  # the worker dies between candidates
        time.sleep(0.1)
        assert_honest_scores_right(pool, smtt, honest_instances)
        assert pool.worker_pids() != second
    assert not live_descendants(second)


@pytest.mark.slow
def test_unresponsive_worker_is_killed(smtt: SmttProblem,
                                       honest_instances: list[SmttInstance]) -> None:
    require_strict_sandbox()
    limits = Limits(memory_mb=256, kill_grace=0.5)
    with SandboxPool(workers=1, isolation="strict", limits=limits) as pool:
        stuck = pool.worker_pids()
        for pid in live_descendants(stuck):  # freeze the worker inside the namespace
            os.kill(pid, signal.SIGSTOP)
        # more than a pipe buffer of payloads: the orchestrator must not block writing
        big = [{"processing_times": list(range(1, 1001)), "due_dates": list(range(1000))}] * 40
        outcome = pool.run(EDD, smtt.candidate_spec, big, 0.5)
        assert outcome.status is OutcomeStatus.TIMEOUT
        assert outcome.error is not None and "did not answer" in outcome.error.message
        assert_honest_scores_right(pool, smtt, honest_instances)
        assert pool.worker_pids() != stuck
    assert not live_descendants(stuck)


def test_closed_pool_refuses_work(smtt: SmttProblem) -> None:
    pool = SandboxPool(workers=1, isolation="strict", limits=TEST_LIMITS)
    pool.close()
    with pytest.raises(SandboxError, match="closed"):
        pool.run(EDD, smtt.candidate_spec, [{"processing_times": [1], "due_dates": [1]}], 1.0)


def test_scratch_of_dead_orchestrators_is_removed() -> None:
    from sandbox.startup import SCRATCH_PREFIX, remove_stale_scratch

    dead = subprocess.Popen(["true"])
    dead.wait()
    base = Path(tempfile.gettempdir())
    stale = base / f"{SCRATCH_PREFIX}{dead.pid}-test"
    mine = base / f"{SCRATCH_PREFIX}{os.getpid()}-test"
    for path in (stale, mine):
        (path / "scratch").mkdir(parents=True)
    try:
        remove_stale_scratch()
        assert not stale.exists()
        assert mine.exists()
    finally:
        shutil.rmtree(mine, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


@pytest.mark.slow
def test_code_under_tmp_is_visible_to_the_sandbox(tmp_path: Path) -> None:
    # The worker's private /tmp must not hide a checkout (or environment) that lives
    # under the host's /tmp: the package binds go on top of it.
    if not str(tmp_path.resolve()).startswith("/tmp/"):
        pytest.skip("pytest's temporary directory is not under /tmp here")
    require_strict_sandbox()
    root = Path(__file__).resolve().parents[2]
    for package in ("sandbox", "evaluators"):
        shutil.copytree(root / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import sandbox, sys\n"
        f"assert sandbox.__file__.startswith({str(tmp_path)!r}), sandbox.__file__\n"
        "from evaluators.smtt.problem import SmttProblem\n"
        "problem = SmttProblem()\n"
        "with sandbox.SandboxPool(workers=1, isolation='strict') as pool:\n"
        "    outcome = pool.run(problem.seed_programs['edd'], problem.candidate_spec,\n"
        "                       [{'processing_times': [3, 1], 'due_dates': [5, 1]}], 30.0)\n"
        "print(outcome.status.value, list(outcome.outputs))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_CURRENT_TEST")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "ok [[1, 0]]", done.stdout + done.stderr
