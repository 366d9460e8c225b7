"""The runtime gate at scale: a candidate's CPU time on a few large instances.

Training instances are small (n = 20-100) and the training set's per-instance
CPU time is dominated by the smallest ones and by the child's start-up cost, so
a cap on it lets through programs whose extra work (an improvement pass with a
wide window, pool statistics recomputed for every decision) only shows at the
sizes the rules are meant for. This gate runs the candidate on ``count``
generated instances of ``n`` jobs, larger than any training instance, and
rejects it when the supervisor-measured CPU time of that batch
(:func:`discover.search.cascade.runtime_of`, never the times the candidate reports)
exceeds ``cap`` times the reference seed program's on the same instances. No
references are needed: only the time counts (the training set scores the
program). The cascade runs it after the probe, before the full training set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators.base import GeneratorSpec, Problem
from sandbox import CandidateEvaluation, SandboxPool, evaluate

#: Seed of the timing instances (fixed: the gate is the same for every run).
TIMING_SEED = 777


@dataclass(frozen=True)
class TimingGate:
    """Rejects candidates slower than ``limit`` CPU seconds per timing instance.

    Parameters
    ----------
    instances
        The timing instances (generated, no references).
    limit
        CPU seconds per instance (``cap`` × the reference program's).
    time_limit
        Wall seconds for the batch (a hung candidate is cut there).
    """

    instances: tuple[Any, ...]
    limit: float
    time_limit: float
    reference_code: str = ""
    """The reference program: re-timed before a rejection (see :meth:`exceeded`)."""
    cap: float = 0.0

    def __post_init__(self) -> None:
        if not self.instances:
            raise ValueError("a timing gate needs at least one instance")
        if self.limit <= 0 or self.time_limit <= 0 or self.cap < 0:
            raise ValueError("timing limits must be positive")

    def run(self, problem: Problem[Any], code: str, pool: SandboxPool) -> CandidateEvaluation:
        """The candidate's run on the timing instances (see :func:`runtime_of`)."""
        return evaluate(problem, self.instances, code, pool, self.time_limit,
                        references=[None] * len(self.instances), check=False)

    def exceeded(self, problem: Problem[Any], result: CandidateEvaluation,
                 pool: SandboxPool) -> float | None:
        """The limit ``result`` exceeds, or None when it is fast enough.

        CPU time per instruction rises when the machine gets busier (shared caches and
        cores), so a candidate over the limit measured at start-up is compared once
        more with the reference timed now, and rejected only when it exceeds both.
        """
        from discover.search.cascade import runtime_of  # cascade imports this module

        runtime = runtime_of(result)
        if runtime <= self.limit:
            return None
        if not self.reference_code or self.cap <= 0:
            return self.limit
        now = self.run(problem, self.reference_code, pool)
        limit = max(self.limit, self.cap * runtime_of(now)) if now.ok else self.limit
        return None if runtime <= limit else limit


def timing_instances(problem: Problem[Any], n: int, count: int,
                     params: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """``count`` generated instances of ``n`` jobs, spread over the generator's classes."""
    drawn = problem.generate(GeneratorSpec(n=n, count=1, params=dict(params or {})),
                             np.random.default_rng([TIMING_SEED, n]))
    if not drawn:
        raise ValueError(f"{problem.name}: the generator gave no instance of size {n}")
    picks = np.linspace(0, len(drawn) - 1, num=min(count, len(drawn))).round().astype(int)
    return tuple(drawn[int(k)] for k in picks)


def build_gate(problem: Problem[Any], reference_code: str, n: int, count: int, cap: float,
               pool: SandboxPool, *, params: dict[str, Any] | None = None,
               repeats: int = 3, time_limit: float = 60.0) -> TimingGate | None:
    """The gate for ``cap`` × ``reference_code``'s CPU time on the timing instances.

    The reference is timed ``repeats`` times and the median kept (one measurement on
    a shared machine can be off by a factor). None when the reference fails there.
    """
    from discover.search.cascade import runtime_of  # cascade imports this module

    if cap <= 0 or count < 1 or n < 1:
        raise ValueError("timing gate: n, count and cap must be positive")
    instances = timing_instances(problem, n, count, params)
    probe = TimingGate(instances, 1.0, time_limit)
    times = []
    for _ in range(max(1, repeats)):
        result = probe.run(problem, reference_code, pool)
        if not result.ok:
            return None
        times.append(runtime_of(result))
    reference = float(np.median(times))
    # Candidates time out after a generous multiple of their allowance, not later.
    allowance = cap * reference * len(instances)
    return TimingGate(instances, cap * reference, max(2.0, 10 * allowance), reference_code, cap)
