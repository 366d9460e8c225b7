"""Evaluations that stop when the run does: at its time limit and on Ctrl-C.

The run's :class:`~discover.providers.cancel.CancelScope` cuts model calls in
flight (see :mod:`discover.providers.abortable`); this module does the same for
evaluations in the sandbox. :class:`CancellablePool` stands in for the sandbox
pool wherever the run evaluates (training cascade, selection, validation): when
the scope is cancelled it kills the pool's workers, so that a slow candidate
ends at once instead of at its own time limit, and reports the cut as
:class:`EvaluationCancelled`. :class:`CancellingEvaluator` turns that into the
candidate's ``cancelled`` evaluation, which says nothing about the candidate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from discover.providers.cancel import CancelScope
from discover.search.cascade import CascadeResult, evaluation_cancelled
from evaluators.base import CandidateSpec
from sandbox import Outcome, OutcomeStatus

POLL_SECONDS = 0.1
"""How often a waiting evaluation checks the scope, and kills a worker started meanwhile."""

DRAIN_SECONDS = 5.0
"""How long a cancelled evaluation waits for its killed worker before it gives up waiting."""


class EvaluationCancelled(Exception):
    """The run cut this evaluation (``reason``: its time limit, or Ctrl-C)."""

    def __init__(self, reason: str, seconds: float) -> None:
        super().__init__(f"cancelled: {reason} after {seconds:.1f} s of evaluation")
        self.reason = reason
        self.seconds = seconds


class CancellablePool:
    """A sandbox pool (or a Dask pool) whose evaluations end when ``scope`` is cancelled.

    Parameters
    ----------
    pool
        The pool that runs candidates: anything with ``submit`` returning a future
        of an :class:`~sandbox.Outcome`; ``interrupt()`` (kill the workers) is used
        when it has one. Every other attribute is the pool's.
    scope
        The run's cancellation.

    Notes
    -----
    A Dask pool has no ``interrupt``: its evaluation is abandoned at once (the
    run does not wait) but the remote worker runs it to its own time limit.
    """

    def __init__(self, pool: Any, scope: CancelScope) -> None:
        self._pool = pool
        self._scope = scope
        self._unsubscribe = scope.subscribe(self._interrupt)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    @property
    def _interruptible(self) -> bool:
        return callable(getattr(self._pool, "interrupt", None))

    def _interrupt(self) -> None:
        interrupt: Callable[[], None] | None = getattr(self._pool, "interrupt", None)
        if interrupt is not None:
            interrupt()

    def run(self, code: str, spec: CandidateSpec, payloads: Sequence[dict[str, Any]] | Any,
            time_limit: float, *, check: bool = True, count_steps: bool = False,
            step_limit: int | None = None) -> Outcome:
        """Evaluate like ``pool.run``; raise :class:`EvaluationCancelled` when cut.

        An evaluation that completes before the cut keeps its outcome, even when the
        scope is cancelled before it is read.
        """
        start = time.monotonic()
        if self._scope.cancelled:
            raise EvaluationCancelled(self._scope.reason or "cancelled", 0.0)
        future = self._pool.submit(code, spec, payloads, time_limit, check=check,
                                   count_steps=count_steps, step_limit=step_limit)
        cut_at: float | None = None
        while True:
            try:
                outcome: Outcome = future.result(timeout=POLL_SECONDS)
            except FutureTimeout:
                if not self._scope.cancelled:
                    continue
                cut_at = cut_at or time.monotonic()
                if future.cancel() or not self._interruptible \
                        or time.monotonic() - cut_at > DRAIN_SECONDS:
                    raise self._cancelled(start) from None  # nothing left to wait for
                self._interrupt()  # again: a worker may have started since the cut
                continue
            if self._scope.cancelled and outcome.status is OutcomeStatus.CRASHED:
                raise self._cancelled(start)  # the worker was killed under it
            return outcome

    def _cancelled(self, start: float) -> EvaluationCancelled:
        return EvaluationCancelled(self._scope.reason or "cancelled", time.monotonic() - start)

    def close(self) -> None:
        """Stop watching the scope (the pool itself belongs to its owner)."""
        self._unsubscribe()


@dataclass(frozen=True)
class CancellingEvaluator:
    """An evaluator whose cut evaluations become ``cancelled`` results.

    ``inner`` evaluates through a :class:`CancellablePool`; its
    :class:`EvaluationCancelled` is this candidate's ``cancelled`` evaluation
    rather than a ``crashed`` one.
    """

    inner: Callable[[str, Callable[[str], bool]], CascadeResult | str]

    def __call__(self, code: str, is_known_behaviour: Callable[[str], bool]
                 ) -> CascadeResult | str:
        """Evaluate ``code``, or the ``cancelled`` result when the run cut it."""
        try:
            return self.inner(code, is_known_behaviour)
        except EvaluationCancelled as cut:
            return evaluation_cancelled(cut.reason, cut.seconds)
