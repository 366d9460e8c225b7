"""The trusted side of an evaluation: validate raw outputs, compute objectives and gaps.

The sandbox child only produces raw outputs. Everything that decides a score
happens here, in the orchestrator, with the problem's own ``validate`` and
``objective``: a candidate cannot change its score, only its output.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaluators.base import Failure, FailureReason, Problem, relative_gap
from sandbox.outcome import Outcome, OutcomeStatus
from sandbox.payloads import PayloadSet
from sandbox.pool import SandboxPool

_CACHE_SIZE = 32
_payload_cache: OrderedDict[tuple[str, tuple[str, ...]], PayloadSet] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class InstanceScore:
    """The candidate on one instance.

    Parameters
    ----------
    name
        Instance name.
    objective
        Objective of the validated output; ``None`` when invalid or not run.
    failure
        Why the output was rejected, when it was.
    reference
        Reference (optimal or best-known) value, when known.
    gap
        ``100·(objective − reference)/reference`` when both are known and the
        reference is positive.
    seconds
        Time the candidate took on this instance (measured in the child).
    """

    name: str
    objective: float | None
    failure: Failure | None = None
    reference: float | None = None
    gap: float | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.objective is not None and self.failure is not None:
            raise ValueError("an instance has either an objective or a failure")

    @property
    def valid(self) -> bool:
        """True when the output was validated and scored."""
        return self.objective is not None


@dataclass(frozen=True)
class CandidateEvaluation:
    """A candidate scored on a set of instances.

    ``status`` is the sandbox outcome's status, except that an ``ok`` run with
    an output that fails validation becomes ``invalid_output``.
    """

    status: OutcomeStatus
    outcome: Outcome
    scores: tuple[InstanceScore, ...]
    message: str

    def __post_init__(self) -> None:
        if self.status is OutcomeStatus.OK and not all(s.valid for s in self.scores):
            raise ValueError("an ok evaluation needs a valid output on every instance")

    @property
    def ok(self) -> bool:
        """True when every instance has a validated objective."""
        return self.status is OutcomeStatus.OK

    @property
    def objectives(self) -> tuple[float | None, ...]:
        """Objective per instance (``None`` where invalid or not run)."""
        return tuple(s.objective for s in self.scores)

    @property
    def failures(self) -> tuple[tuple[str, Failure], ...]:
        """``(instance name, failure)`` for every rejected output."""
        return tuple((s.name, s.failure) for s in self.scores if s.failure is not None)

    @property
    def total_objective(self) -> float | None:
        """Sum of objectives over all instances, when all are valid."""
        return sum(s.objective for s in self.scores) if self.ok else None  # type: ignore[misc]

    @property
    def total_reference(self) -> float | None:
        """Sum of reference values, when every instance has one."""
        if not self.scores or any(s.reference is None for s in self.scores):
            return None
        return sum(s.reference for s in self.scores)  # type: ignore[misc]

    @property
    def mean_gap(self) -> float | None:
        """Mean percentage gap over instances with a positive reference (the paper's metric)."""
        if not self.ok:
            return None
        gaps = [s.gap for s in self.scores if s.gap is not None]
        return sum(gaps) / len(gaps) if gaps else None

    @property
    def total_gap(self) -> float | None:
        """``100·(ΣH − ΣREF)/ΣREF``: the aggregate ratio, robust to tiny optima."""
        total, ref = self.total_objective, self.total_reference
        if total is None or ref is None:
            return None
        return relative_gap(total, ref)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        error = self.outcome.error
        return {
            "status": self.status.value,
            "message": self.message,
            "instances": len(self.scores),
            "total_objective": self.total_objective,
            "total_reference": self.total_reference,
            "mean_gap": self.mean_gap,
            "total_gap": self.total_gap,
            "seconds": self.outcome.total_seconds,
            "isolation": self.outcome.isolation_level,
            "error": None if error is None else {
                "message": error.message, "exception_type": error.exception_type,
                "traceback": list(error.traceback), "signal": error.signal,
                "refused": error.refused, "payload_index": error.payload_index},
            "failures": [{"instance": name, "reason": f.reason.value, "detail": f.detail}
                         for name, f in self.failures],
        }


def payload_set(problem: Problem[Any], instances: Sequence[Any]) -> PayloadSet:
    """The instances' payloads as a :class:`PayloadSet`, cached by instance fingerprints."""
    key = (problem.name, tuple(inst.fingerprint for inst in instances))
    with _cache_lock:
        cached = _payload_cache.get(key)
        if cached is not None:
            _payload_cache.move_to_end(key)
            return cached
    pset = PayloadSet.from_payloads([problem.payload(inst) for inst in instances])
    with _cache_lock:
        _payload_cache[key] = pset
        while len(_payload_cache) > _CACHE_SIZE:
            _payload_cache.popitem(last=False)
    return pset


def _validate(problem: Problem[Any], instance: Any, raw: object) -> Sequence[int] | Failure:
    try:
        return problem.validate(instance, raw)
    except Exception as exc:  # hostile data must not take the loop down with a validator bug
        return Failure(FailureReason.INFEASIBLE,
                       f"validation raised {type(exc).__name__}: {exc}")


def evaluate(problem: Problem[Any], instances: Sequence[Any], code: str, pool: SandboxPool,
             time_limit: float, *, references: Sequence[float | None] | None = None,
             check: bool = True, count_steps: bool = False,
             step_limit: int | None = None) -> CandidateEvaluation:
    """Run a candidate in the sandbox on ``instances`` and score it.

    Parameters
    ----------
    problem
        The problem (its ``validate`` and ``objective`` run here, trusted).
    instances
        Instances to evaluate on, in order.
    code
        Candidate source.
    pool
        The sandbox pool to run in.
    time_limit
        Wall-clock deadline for the whole batch, in seconds.
    references
        Reference value per instance; defaults to ``problem.stored_reference``.
    check
        Run the static pre-check first.
    count_steps
        Count the candidate's steps per instance (``outcome.steps``; see
        :meth:`sandbox.SandboxPool.submit`).
    step_limit
        With ``count_steps``: stop the candidate once its steps on the batch so far
        exceed this (a ``timeout``; see :meth:`sandbox.SandboxPool.submit`).

    Returns
    -------
    CandidateEvaluation
        Per-instance objectives, failures and gaps, plus the sandbox outcome.
    """
    if not instances:
        raise ValueError("evaluate needs at least one instance")
    if references is not None and len(references) != len(instances):
        raise ValueError(f"{len(references)} references for {len(instances)} instances")
    outcome = pool.run(code, problem.candidate_spec, payload_set(problem, instances),
                       time_limit, check=check, count_steps=count_steps,
                       step_limit=step_limit)
    scores = []
    for k, inst in enumerate(instances):
        ref = references[k] if references is not None else problem.stored_reference(inst)
        if k >= len(outcome.outputs):
            scores.append(InstanceScore(inst.name, None, reference=ref))
            continue
        seconds = outcome.seconds[k]
        result = _validate(problem, inst, outcome.outputs[k])
        if isinstance(result, Failure):
            scores.append(InstanceScore(inst.name, None, result, ref, seconds=seconds))
            continue
        value = float(problem.objective(inst, result))
        gap = relative_gap(value, ref) if ref is not None else None
        scores.append(InstanceScore(inst.name, value, None, ref, gap, seconds))
    status = outcome.status
    if status is OutcomeStatus.OK:
        bad = next((s for s in scores if s.failure is not None), None)
        if bad is not None:
            status = OutcomeStatus.INVALID_OUTPUT
            message = f"invalid output on instance {bad.name}: {bad.failure}"
        else:
            total = sum(s.objective for s in scores if s.objective is not None)
            message = f"ok: total objective {total:g} on {len(scores)} instances"
    else:
        message = outcome.describe()
    return CandidateEvaluation(status, outcome, tuple(scores), message)
