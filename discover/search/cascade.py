"""The evaluation cascade: pre-check, probe set, full training set — fail fast.

A candidate first passes the static pre-check (no process is started for code
that does not parse or lacks the function), then runs on a few probe
instances, whose outputs also give its behavioural fingerprint, and only then
on the whole training set. Scores and gaps are computed on the trusted side by
:func:`sandbox.evaluate`.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archive import Evaluation as ArchivedEvaluation
from archive import EvaluationStatus, InstanceResult, Split
from discover.search.duplicates import behaviour_fingerprint
from discover.search.timing import TimingGate
from evaluators.base import Problem
from sandbox import CandidateEvaluation, OutcomeStatus, SandboxPool, evaluate, precheck
from sandbox.text import storable

SANDBOX_STATUS: Mapping[OutcomeStatus, EvaluationStatus] = {
    OutcomeStatus.OK: EvaluationStatus.OK,
    OutcomeStatus.INVALID_OUTPUT: EvaluationStatus.INVALID_OUTPUT,
    OutcomeStatus.EXCEPTION: EvaluationStatus.EXCEPTION,
    OutcomeStatus.TIMEOUT: EvaluationStatus.TIMEOUT,
    OutcomeStatus.MEMORY: EvaluationStatus.MEMORY,
    OutcomeStatus.CRASHED: EvaluationStatus.CRASHED,
    OutcomeStatus.FORBIDDEN: EvaluationStatus.FORBIDDEN,
    OutcomeStatus.PRECHECK_FAILED: EvaluationStatus.REJECTED,
}
"""The one translation of the sandbox's outcome into the verdict vocabulary (total)."""


@dataclass(frozen=True)
class TrainingSet:
    """Training instances with their reference values; the first ``probe`` form the probe set."""

    instances: tuple[Any, ...]
    references: tuple[float, ...]
    probe: int
    groups: tuple[int, ...] = ()
    """Size of each instance when the set mixes sizes (empty: one size). The
    ``ratio`` score averages over sizes. (The runtime cap on this set is the
    supervisor's CPU time per instance: :func:`runtime_of`.)"""

    def __post_init__(self) -> None:
        if len(self.instances) != len(self.references):
            raise ValueError("one reference per instance")
        if self.groups and len(self.groups) != len(self.instances):
            raise ValueError("one group per instance")
        if not 1 <= self.probe <= len(self.instances):
            raise ValueError("probe size must lie in 1..len(instances)")


@dataclass(frozen=True)
class CascadeResult:
    """What the cascade concluded about one candidate.

    ``status`` is ``OK``, ``TOO_SLOW``, ``REJECTED`` (pre-check) or a sandbox
    failure kind; ``stage`` is where it stopped (precheck/probe/timing/full, or
    trusted when the evaluation itself raised: see :func:`evaluation_failed`).
    """

    status: EvaluationStatus
    stage: str
    score: float | None
    gap: float | None
    ratio: float | None
    runtime: float | None
    """CPU seconds per training instance, measured by the supervisor (see ``runtime_of``)."""
    signature: tuple[float, ...]
    behaviour_hash: str | None
    message: str
    evaluation: ArchivedEvaluation

    @property
    def ok(self) -> bool:
        """True when the candidate was scored on the full training set."""
        return self.status is EvaluationStatus.OK


def _archived(split: Split, status: EvaluationStatus, result: CandidateEvaluation | None,
              seconds: float, message: str | None, score: float | None = None,
              steps: int | None = None) -> ArchivedEvaluation:
    per_instance: list[InstanceResult] = []
    if result is not None:
        error_status = (status if status is not EvaluationStatus.OK
                        else EvaluationStatus.INVALID_OUTPUT)
        for s in result.scores:
            if s.valid:
                per_instance.append(InstanceResult(s.name, EvaluationStatus.OK, s.objective,
                                                   s.gap, s.seconds))
            else:
                per_instance.append(InstanceResult(
                    s.name, error_status, None, None, s.seconds,
                    storable(str(s.failure)) if s.failure is not None else "not run"))
    gap = result.mean_gap if result is not None and result.ok else None
    # Messages quote candidate text: storable, or the archive write would fail.
    return ArchivedEvaluation(split=split, status=status, score=score, gap=gap,
                              seconds=seconds,
                              error=None if message is None else storable(message),
                              per_instance=tuple(per_instance), steps=steps)


def evaluation_failed(exc: BaseException) -> CascadeResult:
    """The result of a candidate whose evaluation raised on the trusted side.

    Recorded as ``crashed`` with the error, so that the run goes on.
    """
    message = storable(f"the evaluation failed on the trusted side: "
                       f"{type(exc).__name__}: {exc}")[:2000]
    return _failed(EvaluationStatus.CRASHED, "trusted", None, 0.0, message)


def evaluation_cancelled(reason: str, seconds: float) -> CascadeResult:
    """The result of a candidate whose evaluation the run cut (``reason``: why)."""
    return _failed(EvaluationStatus.CANCELLED, "cancelled", None, seconds,
                   f"cancelled: {reason} after {seconds:.1f} s of evaluation")


def _status_of(result: CandidateEvaluation) -> EvaluationStatus:
    return SANDBOX_STATUS[result.status]


def _describe(result: CandidateEvaluation) -> str:
    error = result.outcome.error
    if error is not None and error.traceback:
        return result.message + "\n" + "\n".join(error.traceback[-4:])
    return result.message


def run_cascade(
    problem: Problem[Any],
    code: str,
    training: TrainingSet,
    pool: SandboxPool,
    *,
    time_limit: float,
    runtime_limit: float | None = None,
    is_known_behaviour: Callable[[str], bool] | None = None,
    score: str = "gap",
    timing: TimingGate | None = None,
) -> CascadeResult | str:
    """Evaluate ``code`` stage by stage on ``training``.

    Parameters
    ----------
    time_limit
        Wall seconds for the full training set (the probe gets a proportional share,
        at least one second).
    runtime_limit
        CPU seconds per instance (:func:`runtime_of`) above which a candidate is
        rejected as too slow.
    is_known_behaviour
        Called with the probe fingerprint; when it returns True the cascade stops
        and returns the fingerprint (a behavioural duplicate, not evaluated further).
    score
        ``gap``, ``ratio``, ``mix`` or ``balanced`` (:func:`training_score`).
    timing
        The runtime gate at scale (:mod:`discover.search.timing`), run after the probe.

    Returns
    -------
    CascadeResult | str
        The result, or the behaviour fingerprint of a duplicate.
    """
    start = time.monotonic()
    check = precheck(code, problem.candidate_spec)
    if not check.ok:
        return _failed(EvaluationStatus.REJECTED, "precheck", None,
                       time.monotonic() - start, check.message)
    share = training.probe / len(training.instances)
    probe_instances = training.instances[: training.probe]
    probe = evaluate(problem, probe_instances, code, pool, max(1.0, time_limit * share),
                     references=training.references[: training.probe], check=False)
    if not probe.ok:
        return _failed(_status_of(probe), "probe", probe, time.monotonic() - start,
                       _describe(probe))
    fingerprint = behaviour_fingerprint([list(o) for o in probe.outcome.outputs])
    if is_known_behaviour is not None and is_known_behaviour(fingerprint):
        return fingerprint
    if runtime_limit is not None and runtime_of(probe) > runtime_limit:
        return _too_slow(probe, time.monotonic() - start, fingerprint, "probe",
                         _over_cpu(probe, runtime_limit))
    steps: int | None = None  # on the timing instances, archived with the verdict
    if timing is not None:
        timed = timing.run(problem, code, pool)
        steps = timed.outcome.total_steps
        if timed.status is OutcomeStatus.TIMEOUT:
            # Too slow either way: the child stops at the step limit, the wall-clock limit
            # is ten times the allowance, and naming both alike keeps the archived status
            # independent of which limit a slow candidate reached first on a busy machine.
            error = timed.outcome.error
            if timed.outcome.step_limit_reached and error is not None:
                message = (f"too slow on the {len(timing.instances)} larger timing instances: "
                           f"{error.message}; the limit is a multiple of the reference "
                           f"heuristic's steps")
            else:
                message = (f"too slow: did not finish the {len(timing.instances)} larger "
                           f"timing instances within {timing.time_limit:.3g} s")
            return _too_slow(timed, time.monotonic() - start, fingerprint, "timing", message,
                             steps)
        if not timed.ok:
            return _failed(_status_of(timed), "timing", timed, time.monotonic() - start,
                           "on the larger timing instances: " + _describe(timed), fingerprint,
                           steps)
        over = timing.exceeded(timed)
        if over is not None:
            message = (f"too slow: {over:,} steps on the {len(timing.instances)} larger timing "
                       f"instances, limit {timing.limit:,} (a multiple of the reference "
                       f"heuristic's steps)")
            return _too_slow(timed, time.monotonic() - start, fingerprint, "timing", message,
                             steps)
    full = evaluate(problem, training.instances, code, pool, time_limit,
                    references=training.references, check=False)
    elapsed = time.monotonic() - start
    if not full.ok:
        return _failed(_status_of(full), "full", full, elapsed, _describe(full), fingerprint,
                       steps)
    if runtime_limit is not None and runtime_of(full) > runtime_limit:
        return _too_slow(full, elapsed, fingerprint, "full", _over_cpu(full, runtime_limit),
                         steps)
    gap = full.mean_gap
    value = training_score(full, training, score)
    ratio = (full.total_objective / full.total_reference
             if full.total_objective is not None and full.total_reference else None)
    signature = tuple(s.gap if s.gap is not None else 0.0 for s in full.scores)
    return CascadeResult(
        status=EvaluationStatus.OK, stage="full", score=value, gap=gap, ratio=ratio,
        runtime=runtime_of(full), signature=signature, behaviour_hash=fingerprint,
        message=full.message,
        evaluation=_archived(Split.TRAIN, EvaluationStatus.OK, full, elapsed, None, value,
                             steps),
    )


def training_score(result: CandidateEvaluation, training: TrainingSet, mode: str) -> float:
    """The training score of a fully scored candidate (lower is better, in %).

    ``gap``: the mean relative gap. ``ratio``: the aggregate gap 100·(ΣH/ΣOPT − 1)
    of each instance size, averaged over sizes (sizes with ΣOPT = 0 left out) — large
    instances would otherwise outweigh small ones by their larger objectives.
    ``mix``: the mean of the two. ``balanced``: the mean of ``ratio`` and the mean gap
    of each size averaged over sizes — in ``mix`` the mean gap is pooled, so the most
    numerous size decides it (``evaluation.score``).
    """
    gap = result.mean_gap if result.mean_gap is not None else 0.0
    return score_from(gap, [s.objective for s in result.scores], training, mode)


def score_from(gap: float, objectives: Sequence[float | None], training: TrainingSet,
               mode: str) -> float:
    """:func:`training_score` from the mean gap and the objectives (training order)."""
    if mode == "gap":
        return gap
    groups = training.groups or (0,) * len(training.instances)
    totals: dict[int, list[float]] = {}
    gaps: dict[int, list[float]] = {}
    for value, ref, g in zip(objectives, training.references, groups, strict=True):
        if value is None:
            continue
        acc = totals.setdefault(g, [0.0, 0.0])
        acc[0] += value
        acc[1] += ref
        if ref > 0:
            gaps.setdefault(g, []).append(100.0 * (value - ref) / ref)
    aggregates = [100.0 * (h / opt - 1.0) for h, opt in totals.values() if opt > 0]
    ratio = sum(aggregates) / len(aggregates) if aggregates else gap
    if mode == "ratio":
        return ratio
    if mode == "balanced":
        means = [sum(v) / len(v) for v in gaps.values()]
        return 0.5 * ((sum(means) / len(means) if means else gap) + ratio)
    return 0.5 * (gap + ratio)


def runtime_of(result: CandidateEvaluation) -> float:
    """Seconds per instance of a candidate, as the supervisor measured them.

    The CPU time of the whole child (``wait4`` in the worker, which the candidate
    cannot touch) divided by the batch size; the supervisor's wall time when no
    CPU figure came back. Never the per-instance times the child reports: a
    candidate can patch the child's timers or forge those frames. CPU time also
    stays put when a busy machine preempts the child, which is why the gate once
    used medians of wall times. It includes the child's fixed start-up cost (a
    few milliseconds per batch), which the runtime floor absorbs.
    """
    outcome = result.outcome
    n = max(1, outcome.n_payloads)
    if outcome.cpu_seconds is not None:
        return outcome.cpu_seconds / n
    return outcome.total_seconds / n


def _failed(status: EvaluationStatus, stage: str, result: CandidateEvaluation | None,
            seconds: float, message: str, fingerprint: str | None = None,
            steps: int | None = None) -> CascadeResult:
    return CascadeResult(
        status=status, stage=stage, score=None, gap=None, ratio=None, runtime=None,
        signature=(), behaviour_hash=fingerprint, message=message,
        evaluation=_archived(Split.TRAIN, status, result, seconds, message, steps=steps),
    )


def _over_cpu(result: CandidateEvaluation, limit: float) -> str:
    """Why ``result`` is too slow for the CPU limit per instance of the training set."""
    return (f"too slow: {runtime_of(result) * 1e3:.2f} ms CPU per instance, limit "
            f"{limit * 1e3:.2f} ms (a multiple of the reference heuristic's time)")


def _too_slow(result: CandidateEvaluation, seconds: float, fingerprint: str, stage: str,
              message: str, steps: int | None = None) -> CascadeResult:
    runtime = runtime_of(result)
    return CascadeResult(
        status=EvaluationStatus.TOO_SLOW,
        stage=stage,
        score=None, gap=None, ratio=None, runtime=runtime, signature=(),
        behaviour_hash=fingerprint,
        message=message,
        evaluation=_archived(Split.TRAIN, EvaluationStatus.TOO_SLOW, result, seconds, message,
                             steps=steps),
    )


def loop_depth(code: str) -> int:
    """Deepest nesting of loops and comprehensions in ``code`` (a static cost class).

    Used as the deterministic runtime dimension of the population's diversity
    cells: measured seconds jitter between runs and would make parent selection
    depend on machine load, breaking same-seed reproducibility.
    """
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def depth(node: ast.AST) -> int:
        inner = max((depth(child) for child in ast.iter_child_nodes(node)), default=0)
        return inner + 1 if isinstance(node, loops) else inner

    try:
        return depth(ast.parse(code))
    except SyntaxError:
        return 0


def validation_evaluation(
    problem: Problem[Any], code: str, instances: Sequence[Any],
    references: Sequence[float | None], pool: SandboxPool, time_limit: float,
) -> CandidateEvaluation:
    """Score a program on the validation split (no cascade: it already passed training)."""
    return evaluate(problem, instances, code, pool, time_limit, references=references,
                    check=True)


def archived_validation(result: CandidateEvaluation, seconds: float) -> ArchivedEvaluation:
    """The validation result in the archive's vocabulary."""
    if result.ok:
        return _archived(Split.VALIDATION, EvaluationStatus.OK, result, seconds, None,
                         result.mean_gap)
    status = _status_of(result) if result.status is not OutcomeStatus.OK \
        else EvaluationStatus.INVALID_OUTPUT
    return _archived(Split.VALIDATION, status, result, seconds, result.message)
