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
from sandbox import SandboxPool

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
    # Too slow, or on a very busy machine cut by the gate's wall-clock limit first.
    assert slow.stage == "timing"
    assert slow.status in (EvaluationStatus.TOO_SLOW, EvaluationStatus.TIMEOUT)
    assert slow.status is EvaluationStatus.TIMEOUT or "too slow" in slow.message
    fast = run_cascade(SMTT, MDD, training, pool, time_limit=30.0, timing=gate)
    assert isinstance(fast, CascadeResult) and fast.ok and fast.stage == "full"


def test_a_crash_on_the_timing_instances_is_a_failure(pool: SandboxPool) -> None:
    crashes_when_large = MDD.replace("    n = len(processing_times)\n",
                                     "    n = len(processing_times)\n"
                                     "    if n > 100:\n        raise ValueError('large')\n", 1)
    assert crashes_when_large != MDD
    gate = TimingGate(timing_instances(SMTT, 200, 1), 1.0, 10.0)
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
        TimingGate((), 1.0, 1.0)


def test_smtt_runs_gate_at_n300() -> None:
    ev = RunConfig.for_problem("smtt").evaluation
    assert ev.timing_n == 300 and ev.timing_cap == 2.0


def test_a_busier_machine_moves_the_limit_not_the_verdict(pool: SandboxPool) -> None:
    """Over the start-up limit, a candidate is compared with the reference timed now."""
    gate = build_gate(SMTT, MDD, 300, 2, 2.0, pool)
    assert gate is not None
    # A limit measured on an idle machine a hundred times faster than now: MDD itself
    # exceeds it, but not twice MDD's time measured now.
    stale = TimingGate(gate.instances, gate.limit / 100, gate.time_limit, MDD, 2.0)
    result = stale.run(SMTT, MDD, pool)
    assert result.ok and stale.exceeded(SMTT, result, pool) is None
    slow = stale.run(SMTT, CUBIC, pool)
    if slow.ok:  # (on a very busy machine the wall-clock limit may cut it first)
        limit = stale.exceeded(SMTT, slow, pool)
        assert limit is not None and limit > stale.limit
    # Without a reference to re-time, the stale limit stands.
    bare = TimingGate(gate.instances, gate.limit / 100, gate.time_limit)
    assert bare.exceeded(SMTT, result, pool) == bare.limit
