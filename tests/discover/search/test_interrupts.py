"""Evaluations in the real sandbox that the run's cancel scope cuts at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from archive import EvaluationStatus
from discover.providers import CancelScope
from discover.providers.cancel import CTRL_C, TIME_LIMIT
from discover.search.cascade import TrainingSet, run_cascade
from discover.search.interrupts import CancellablePool, CancellingEvaluator, EvaluationCancelled
from evaluators.registry import get_problem
from sandbox import OutcomeStatus, SandboxPool
from sandbox.scoring import payload_set
from tests.discover.fakes import smtt_instances, sort_key_program

SLOW = ("def schedule(processing_times, due_dates):\n"
        "    x = 0\n"
        "    for i in range(10 ** 12):\n"
        "        x += i\n"
        "    return list(range(len(due_dates)))\n")


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(workers=1) as opened:
        yield opened


def _payloads():  # type: ignore[no-untyped-def]
    problem = get_problem("smtt")
    return problem, payload_set(problem, smtt_instances(3))


def test_a_slow_evaluation_is_cut_at_once_and_the_pool_runs_on(pool: SandboxPool) -> None:
    problem, payloads = _payloads()
    scope = CancelScope()
    guarded = CancellablePool(pool, scope)
    timer = threading.Timer(1.5, scope.cancel, args=(TIME_LIMIT,))
    timer.start()
    fires = time.monotonic() + 1.5
    with pytest.raises(EvaluationCancelled) as caught:
        guarded.run(SLOW, problem.candidate_spec, payloads, 300.0)
    assert time.monotonic() - fires < 2.0  # not the candidate's 300 s
    assert caught.value.reason == TIME_LIMIT and caught.value.seconds >= 1.0
    # Cancelled: nothing starts any more; the pool itself still works for its owner.
    with pytest.raises(EvaluationCancelled):
        guarded.run(sort_key_program("d[j]"), problem.candidate_spec, payloads, 30.0)
    outcome = pool.run(sort_key_program("d[j]"), problem.candidate_spec, payloads, 30.0)
    assert outcome.status is OutcomeStatus.OK
    guarded.close()


def test_the_step_limit_passes_through(pool: SandboxPool) -> None:
    problem, payloads = _payloads()
    scope = CancelScope()
    guarded = CancellablePool(pool, scope)
    outcome = guarded.run(SLOW, problem.candidate_spec, payloads, 300.0, count_steps=True,
                          step_limit=10_000)
    assert outcome.step_limit_reached and outcome.outputs == ()
    guarded.close()


def test_the_cut_candidate_is_archived_as_cancelled_not_crashed(pool: SandboxPool) -> None:
    problem = get_problem("smtt")
    instances = smtt_instances(4)
    training = TrainingSet(tuple(instances), tuple(1.0 for _ in instances), 2)
    scope = CancelScope(time.monotonic() + 1.5)
    guarded = CancellablePool(pool, scope)
    evaluator = CancellingEvaluator(lambda code, known: run_cascade(
        problem, code, training, guarded, time_limit=300.0,  # type: ignore[arg-type]
        is_known_behaviour=known))
    scope.start()
    start = time.monotonic()
    result = evaluator(SLOW, lambda _: False)
    assert time.monotonic() - start < 3.5
    assert not isinstance(result, str) and result.status is EvaluationStatus.CANCELLED
    assert result.evaluation.error is not None
    assert result.evaluation.error.startswith("cancelled: the run's time limit was reached")
    # A candidate evaluated before the cut keeps its verdict.
    scope2 = CancelScope()
    fine = CancellingEvaluator(lambda code, known: run_cascade(
        problem, code, training, CancellablePool(pool, scope2),  # type: ignore[arg-type]
        time_limit=30.0, is_known_behaviour=known))(sort_key_program("d[j]"), lambda _: False)
    scope2.cancel(CTRL_C)
    assert not isinstance(fine, str) and fine.status is EvaluationStatus.OK


def test_a_tuning_cut_by_the_run_gives_up_at_once(pool: SandboxPool) -> None:
    """Numeric tuning evaluates through the guarded pool too: cut, it proposes nothing
    and stops at once, where the plain pool let it finish its probe runs."""
    from discover.search.collaborators import ProbeTuner

    problem = get_problem("smtt")
    instances = smtt_instances(4)
    training = TrainingSet(tuple(instances), tuple(1.0 for _ in instances), 2)
    scope = CancelScope()
    scope.cancel(TIME_LIMIT)
    tuner = ProbeTuner(problem, training, CancellablePool(pool, scope),  # type: ignore[arg-type]
                       30.0, max_evaluations=24)
    start = time.monotonic()
    assert tuner(sort_key_program("d[j] + 1.5 * p[j]")) is None
    assert time.monotonic() - start < 1.0
