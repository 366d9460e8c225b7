"""The runtime gate at scale: extra work that grows with n is caught on larger instances."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from archive import EvaluationStatus
from discover.config import ConfigError, EvaluationConfig, RunConfig
from discover.search.cascade import CascadeResult, TrainingSet, run_cascade
from discover.search.timing import TimingGate, build_gate, timing_instances
from evaluators.registry import get_problem
from sandbox import SandboxPool, evaluate

SMTT: Any = get_problem("smtt")
MDD = SMTT.seed_programs["mdd"]
# MDD whose key sums the whole pool for every job it looks at: O(n³), the kind of
# extra work the n = 20 training instances hide.
CUBIC = MDD.replace("key=lambda j: (", "key=lambda j: (0 * sum(processing_times[i] for i in "
                    "remaining) + ")


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(workers=1, isolation="none") as opened:
        yield opened


def _training() -> TrainingSet:
    instances = timing_instances(SMTT, 20, 6)
    mdd = SMTT.heuristics["mdd"]
    return TrainingSet(tuple(instances),
                       tuple(float(max(SMTT.objective(i, mdd(i)), 1)) for i in instances), 2)


def test_the_cubic_program_really_is_mdd() -> None:
    assert CUBIC != MDD and "sum(processing_times[i] for i in remaining)" in CUBIC
    inst = timing_instances(SMTT, 30, 1)[0]
    runs = []
    for code in (MDD, CUBIC):
        namespace: dict[str, Any] = {}
        exec(compile(code, "<candidate>", "exec"), namespace)
        runs.append(namespace["schedule"](list(inst.processing_times), list(inst.due_dates)))
    assert runs[0] == runs[1]


def test_timing_instances_are_fixed_and_spread_over_classes() -> None:
    first = timing_instances(SMTT, 300, 3)
    assert len(first) == 3 and all(i.size == 300 for i in first)
    assert [i.fingerprint for i in first] == [i.fingerprint for i in timing_instances(SMTT, 300, 3)]
    assert len({i.fingerprint for i in first}) == 3


def test_the_gate_rejects_work_that_grows_with_n(pool: SandboxPool) -> None:
    training = _training()
    # Without the gate the slow program passes: on n = 20 it is barely slower.
    plain = run_cascade(SMTT, CUBIC, training, pool, time_limit=30.0)
    assert isinstance(plain, CascadeResult) and plain.ok
    gate = build_gate(SMTT, MDD, 300, 2, 2.0, pool)
    assert gate is not None and gate.limit > 0
    slow = run_cascade(SMTT, CUBIC, training, pool, time_limit=30.0, timing=gate)
    assert isinstance(slow, CascadeResult)
    # Too slow, by its steps or (on a busy machine) by the gate's wall-clock limit: the
    # same status either way.
    assert slow.stage == "timing" and slow.status is EvaluationStatus.TOO_SLOW
    assert "too slow" in slow.message
    fast = run_cascade(SMTT, MDD, training, pool, time_limit=30.0, timing=gate)
    assert isinstance(fast, CascadeResult) and fast.ok and fast.stage == "full"
    # The count is archived with the verdict (the search reads a parent's share of it).
    assert fast.evaluation.steps is not None and 2 * fast.evaluation.steps == gate.limit
    assert plain.evaluation.steps is None  # no gate, no count


def test_a_crash_on_the_timing_instances_is_a_failure(pool: SandboxPool) -> None:
    crashes_when_large = MDD.replace("    n = len(processing_times)\n",
                                     "    n = len(processing_times)\n"
                                     "    if n > 100:\n        raise ValueError('large')\n", 1)
    assert crashes_when_large != MDD
    gate = TimingGate(timing_instances(SMTT, 200, 1), 1, 10.0)
    result = run_cascade(SMTT, crashes_when_large, _training(), pool, time_limit=30.0,
                         timing=gate)
    assert isinstance(result, CascadeResult) and not result.ok
    assert result.stage == "timing" and "timing instances" in result.message


def test_bad_gate_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="timing"):
        EvaluationConfig(timing_n=-1)
    with pytest.raises(ConfigError, match="timing"):
        EvaluationConfig(timing_cap=0.0)
    with pytest.raises(ValueError):
        TimingGate((), 1, 1.0)
    with pytest.raises(ValueError):
        TimingGate(timing_instances(SMTT, 20, 1), 0, 1.0)


def test_smtt_runs_gate_at_n300() -> None:
    ev = RunConfig.for_problem("smtt").evaluation
    assert ev.timing_n == 300 and ev.timing_cap == 2.0


def test_the_limit_is_cap_times_the_reference_steps(pool: SandboxPool) -> None:
    gate = build_gate(SMTT, MDD, 300, 2, 2.0, pool)
    assert gate is not None
    reference = gate.run(SMTT, MDD, pool)
    steps = reference.outcome.total_steps
    assert reference.ok and steps is not None and gate.limit == int(2.0 * steps)
    assert gate.exceeded(reference) is None
    # The same count on every run, however busy the machine: the verdict is reproducible.
    assert gate.run(SMTT, MDD, pool).outcome.total_steps == steps
    tight = TimingGate(gate.instances, steps - 1, gate.time_limit)
    assert tight.exceeded(reference) == steps


def test_a_run_without_counts_is_over_the_limit(pool: SandboxPool) -> None:
    gate = build_gate(SMTT, MDD, 300, 1, 2.0, pool)
    assert gate is not None
    uncounted = evaluate(SMTT, gate.instances, MDD, pool, 30.0,
                         references=[None] * len(gate.instances), check=False)
    assert uncounted.ok and gate.exceeded(uncounted) == gate.limit + 1


def test_a_timeout_on_the_timing_instances_is_too_slow(pool: SandboxPool) -> None:
    gate = TimingGate(timing_instances(SMTT, 300, 1), 10**12, 0.3)
    result = run_cascade(SMTT, CUBIC, _training(), pool, time_limit=30.0, timing=gate)
    assert isinstance(result, CascadeResult)
    assert result.status is EvaluationStatus.TOO_SLOW and result.stage == "timing"
    assert "did not finish" in result.message


def test_the_gate_stops_a_candidate_once_it_passes_the_limit(pool: SandboxPool) -> None:
    gate = build_gate(SMTT, MDD, 300, 2, 2.0, pool)
    assert gate is not None
    timed = gate.run(SMTT, CUBIC, pool)
    # Stopped within the first instance (CUBIC does about n times MDD's work), not run on
    # both to the end; the second check agrees (no count for every instance is over).
    assert timed.outcome.step_limit_reached and timed.outcome.outputs == ()
    assert gate.exceeded(timed) == gate.limit + 1
    result = run_cascade(SMTT, CUBIC, _training(), pool, time_limit=30.0, timing=gate)
    assert isinstance(result, CascadeResult)
    assert result.status is EvaluationStatus.TOO_SLOW and result.stage == "timing"
    assert result.message.startswith("too slow on the 2 larger timing instances: step limit "
                                     f"reached: more than {gate.limit:,} steps")


def test_stopping_early_gives_the_verdict_of_counting_to_the_end(pool: SandboxPool) -> None:
    instances = timing_instances(SMTT, 300, 2)
    reference = TimingGate(instances, 1, 60.0).run(SMTT, MDD, pool, stop_at_limit=False)
    steps = reference.outcome.steps
    assert reference.ok and len(steps) == 2
    at_total = TimingGate(instances, sum(steps), 60.0)
    passed = at_total.run(SMTT, MDD, pool)
    assert passed.ok and passed.outcome.steps == steps and at_total.exceeded(passed) is None
    below = TimingGate(instances, sum(steps) - 1, 60.0).run(SMTT, MDD, pool)
    assert below.outcome.step_limit_reached and below.outcome.steps == steps[:1]
