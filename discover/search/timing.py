"""The runtime gate at scale: a candidate's work on a few large instances, in steps.

Training instances are small (n = 20-100) and the training set's per-instance
CPU time is dominated by the smallest ones and by the child's start-up cost, so
a cap on it lets through programs whose extra work (an improvement pass with a
wide window, pool statistics recomputed for every decision) only shows at the
sizes the rules are meant for. This gate runs the candidate on ``count``
generated instances of ``n`` jobs, larger than any training instance, and
rejects it when its *steps* there (the bytecode instructions of the lines its
own code runs: :mod:`sandbox.steps`) exceed ``cap`` times the reference seed
program's on the same instances.

Steps, not seconds: a CPU-time gate is a measurement, and a candidate within
timing noise of its limit passed in one run and failed in the next, so the
same seed gave different searches (two runs of seed 1 parted at program 85:
docs/offline-engine.md). A step count depends only on the path the program
takes; it follows CPU time within about 25 % on a search's programs, and misses
work done inside C functions (a ``sorted`` call counts only through its ``key``
callbacks, a list slice not at all). The limit goes to the sandbox child, which
stops the candidate once its count passes it: a rejection costs at most the
limit's steps. The batch's wall-clock limit (ten times the reference's
allowance) still stops a candidate that gets around the count. No references
are needed: only the work counts (the training set scores the program). The
cascade runs the gate after the probe, before the full training set.
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
    """Rejects candidates that run more than ``limit`` steps on the timing instances.

    Parameters
    ----------
    instances
        The timing instances (generated, no references).
    limit
        Steps on the whole batch (``cap`` × the reference program's).
    time_limit
        Wall seconds for the batch (a hung candidate, or one whose work the count
        misses, is cut there).
    """

    instances: tuple[Any, ...]
    limit: int
    time_limit: float

    def __post_init__(self) -> None:
        if not self.instances:
            raise ValueError("a timing gate needs at least one instance")
        if self.limit <= 0 or self.time_limit <= 0:
            raise ValueError("timing limits must be positive")

    def run(self, problem: Problem[Any], code: str, pool: SandboxPool, *,
            stop_at_limit: bool = True) -> CandidateEvaluation:
        """The candidate's run on the timing instances, its steps counted.

        With ``stop_at_limit`` the child stops the candidate as soon as its steps
        exceed :attr:`limit` (a ``timeout`` whose outcome has
        :attr:`~sandbox.Outcome.step_limit_reached`), so a rejection costs at most
        the limit's steps. The count only grows, so a candidate is stopped iff its
        total would exceed the limit, unless it fails first.
        """
        return evaluate(problem, self.instances, code, pool, self.time_limit,
                        references=[None] * len(self.instances), check=False,
                        count_steps=True, step_limit=self.limit if stop_at_limit else None)

    def exceeded(self, result: CandidateEvaluation) -> int | None:
        """``result``'s steps when they exceed the limit, or None when within it.

        A run that came back without a count for every instance (only a candidate
        that writes to the result channel itself can cause that) counts as over.
        """
        steps = result.outcome.total_steps
        if steps is None:
            return self.limit + 1
        return steps if steps > self.limit else None


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
               time_limit: float = 60.0) -> TimingGate | None:
    """The gate for ``cap`` × ``reference_code``'s steps on the timing instances.

    One run of the reference suffices: its count is the same every time. None when
    the reference fails there.
    """
    from discover.search.cascade import runtime_of  # cascade imports this module

    if cap <= 0 or count < 1 or n < 1:
        raise ValueError("timing gate: n, count and cap must be positive")
    instances = timing_instances(problem, n, count, params)
    result = TimingGate(instances, 1, time_limit).run(problem, reference_code, pool,
                                                      stop_at_limit=False)
    steps = result.outcome.total_steps
    if not result.ok or steps is None:
        return None
    # Candidates time out after a generous multiple of their allowance, not later
    # (the reference's traced run time: candidates are traced too).
    allowance = cap * runtime_of(result) * len(instances)
    return TimingGate(instances, max(1, int(cap * steps)), max(2.0, 10 * allowance))
