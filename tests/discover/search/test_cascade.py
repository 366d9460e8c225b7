"""The cascade's verdicts in the archive's vocabulary, with no sandbox (fakes only)."""

from __future__ import annotations

from typing import Any

import pytest

from archive import EvaluationStatus, Split
from discover.search.cascade import CascadeResult, TrainingSet, archived_validation, run_cascade
from discover.search.timing import TimingGate
from evaluators.registry import get_problem
from sandbox import CandidateEvaluation, ErrorInfo, Outcome, OutcomeStatus
from tests.discover.fakes import InProcessPool, smtt_instances, sort_key_program

SMTT: Any = get_problem("smtt")


def _failed(status: OutcomeStatus) -> CandidateEvaluation:
    outcome = Outcome(status, error=ErrorInfo(f"{status.value} happened"), n_payloads=2)
    return CandidateEvaluation(status, outcome, (), f"{status.value} happened")


def test_a_validation_that_fails_the_precheck_is_archived_as_rejected() -> None:
    archived = archived_validation(_failed(OutcomeStatus.PRECHECK_FAILED), 0.5)
    assert archived.split is Split.VALIDATION
    assert archived.status is EvaluationStatus.REJECTED
    assert archived.error == "precheck_failed happened"


@pytest.mark.parametrize("status", [s for s in OutcomeStatus if s is not OutcomeStatus.OK])
def test_every_sandbox_failure_has_an_archive_status(status: OutcomeStatus) -> None:
    archived = archived_validation(_failed(status), 0.5)
    assert archived.status is not EvaluationStatus.OK


# -- the cascade with a fake pool (no sandbox) -------------------------------------------------


def _training(count: int = 6, probe: int = 2) -> TrainingSet:
    instances = smtt_instances(count)
    mdd = SMTT.heuristics["mdd"]
    return TrainingSet(tuple(instances),
                       tuple(float(max(SMTT.objective(i, mdd(i)), 1)) for i in instances), probe)


def _cascade(code: str, pool: InProcessPool, training: TrainingSet | None = None,
             **kwargs: Any) -> CascadeResult | str:
    return run_cascade(SMTT, code, training or _training(), pool, time_limit=10.0, **kwargs)


def test_a_working_program_is_scored_on_the_full_set() -> None:
    pool = InProcessPool()
    result = _cascade(sort_key_program("d[j]"), pool)
    assert isinstance(result, CascadeResult) and result.ok
    assert result.stage == "full" and result.score is not None and len(result.signature) == 6
    assert result.evaluation.status is EvaluationStatus.OK
    assert len(pool.runs) == 2  # probe, then full


def test_code_that_fails_the_precheck_never_reaches_the_pool() -> None:
    pool = InProcessPool()
    result = _cascade("import os\n" + sort_key_program("d[j]"), pool)
    assert isinstance(result, CascadeResult)
    assert (result.status, result.stage) == (EvaluationStatus.REJECTED, "precheck")
    assert result.evaluation.status is EvaluationStatus.REJECTED and pool.runs == []


def test_a_sandbox_failure_on_the_probe_stops_there() -> None:
    pool = InProcessPool()
    result = _cascade(sort_key_program("d[j]", "    # status=timeout\n"), pool)
    assert isinstance(result, CascadeResult)
    assert (result.status, result.stage) == (EvaluationStatus.TIMEOUT, "probe")
    assert len(pool.runs) == 1


def test_the_too_slow_cap_stops_a_slow_program_after_the_probe() -> None:
    pool = InProcessPool()
    slow = sort_key_program("d[j]", "    # seconds=0.5\n")
    result = _cascade(slow, pool, runtime_limit=0.1)
    assert isinstance(result, CascadeResult)
    assert (result.status, result.stage) == (EvaluationStatus.TOO_SLOW, "probe")
    assert result.evaluation.status is EvaluationStatus.TOO_SLOW
    assert result.evaluation.error is not None and result.evaluation.error.startswith("too slow:")
    assert result.runtime == 0.5 and len(pool.runs) == 1
    # Under the cap the same program is scored.
    assert _cascade(slow, InProcessPool(), runtime_limit=1.0).ok  # type: ignore[union-attr]


def test_a_known_behaviour_returns_its_fingerprint_without_the_full_run() -> None:
    pool = InProcessPool()
    first = _cascade(sort_key_program("d[j]"), pool)
    assert isinstance(first, CascadeResult) and first.behaviour_hash is not None
    # Same orders, different code: a behavioural duplicate.
    again = _cascade(sort_key_program("d[j] + 0"), pool,
                     is_known_behaviour=lambda h: h == first.behaviour_hash)
    assert again == first.behaviour_hash and len(pool.runs) == 3


def test_the_timing_gate_stops_a_program_at_its_step_limit() -> None:
    code = sort_key_program("d[j] * p[j] - d[j] // 2")
    instances = tuple(smtt_instances(3, n=30, seed=1))
    spec = SMTT.candidate_spec
    counted = InProcessPool().run(code, spec, [SMTT.payload(i) for i in instances], 10.0,
                                  count_steps=True)
    assert counted.ok and counted.total_steps is not None
    steps = counted.steps
    # Over the limit within the second instance: stopped there, too_slow, the limit named.
    tight = TimingGate(instances, steps[0] + steps[1] // 2, 10.0)
    result = _cascade(code, InProcessPool(), timing=tight)
    assert isinstance(result, CascadeResult)
    assert (result.status, result.stage) == (EvaluationStatus.TOO_SLOW, "timing")
    assert result.message.startswith(
        f"too slow on the 3 larger timing instances: step limit reached: more than "
        f"{tight.limit:,} steps (stopped at ")
    assert result.evaluation.error == result.message
    # At exactly its total the same program passes the gate (equal is not over).
    exact = TimingGate(instances, counted.total_steps, 10.0)
    assert _cascade(code, InProcessPool(), timing=exact).ok  # type: ignore[union-attr]
