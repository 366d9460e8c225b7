"""A candidate cannot fake its runtime (issue 18, finding 3).

The cascade's too-slow gate once used the per-instance times the child measured
with ``time.perf_counter``; a candidate that patched the timer reported zero and
passed. The gate now uses the CPU time of the whole child, taken by the
supervisor (``wait4``). The slow candidate below burns ~20 ms of CPU per instance
and patches every timer it can reach; it must still be rejected as too slow,
while an honest fast rule passes the same gate.
"""

from __future__ import annotations

from archive import EvaluationStatus
from discover.search.cascade import TrainingSet, run_cascade, runtime_of
from evaluators.smtt.instance import SmttInstance
from sandbox import SandboxPool, evaluate
from tests.sandbox.support import EDD, PermissiveSmtt, edd_objectives

RUNTIME_LIMIT = 0.005
"""Seconds per instance: the runner's floor."""

SLOW_PATCHING_TIMERS = """\
import time

def _zero(*args):
    return 0.0

for _name in ("perf_counter", "monotonic", "time", "process_time", "thread_time"):
    setattr(time, _name, _zero)
for _name in ("perf_counter_ns", "monotonic_ns", "time_ns", "process_time_ns"):
    setattr(time, _name, lambda *args: 0)

def schedule(processing_times, due_dates):
    total = 0
    for k in range(1_000_000):  # ~20 ms of CPU on the development VM
        total += k % 7
    return sorted(range(len(due_dates)), key=lambda j: (due_dates[j], j))
"""


def _training(problem: PermissiveSmtt, instances: list[SmttInstance]) -> TrainingSet:
    return TrainingSet(tuple(instances), tuple(edd_objectives(problem, instances)), probe=3)


def test_patched_timers_do_not_pass_the_gate(mode_pool: SandboxPool,
                                             honest_instances: list[SmttInstance]) -> None:
    problem = PermissiveSmtt()
    training = _training(problem, honest_instances)
    # Whatever the child reports, the supervisor's figure shows the real cost.
    reported = evaluate(problem, honest_instances, SLOW_PATCHING_TIMERS, mode_pool, 20.0,
                        check=False)
    assert reported.ok, reported.message
    assert runtime_of(reported) > 2 * RUNTIME_LIMIT

    slow = run_cascade(problem, SLOW_PATCHING_TIMERS, training, mode_pool, time_limit=20.0,
                       runtime_limit=RUNTIME_LIMIT)
    assert not isinstance(slow, str)
    assert slow.status is EvaluationStatus.TOO_SLOW, slow.message
    assert slow.runtime is not None and slow.runtime > RUNTIME_LIMIT

    fast = run_cascade(problem, EDD, training, mode_pool, time_limit=20.0,
                       runtime_limit=RUNTIME_LIMIT)
    assert not isinstance(fast, str)
    assert fast.ok, fast.message
    assert fast.runtime is not None and fast.runtime < RUNTIME_LIMIT
