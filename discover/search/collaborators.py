"""What the search loop is given: its evaluator, recorder, generators and settings.

:class:`~discover.search.loop.SearchLoop` receives these rather than building them from
a configuration, an archive and a sandbox pool, so that it runs in tests with
fakes (``tests/discover/fakes.py``): an :class:`Evaluator` is any callable with
the cascade's signature, a :class:`Recorder` anything that commits candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from archive import Archive, Evaluation, ModelCall, Parent, Program
from discover.config import RunConfig
from discover.offline.tuning import tune
from discover.search.cascade import CascadeResult, TrainingSet, run_cascade, training_score
from discover.search.interrupts import EvaluationCancelled
from discover.search.timing import TimingGate
from evaluators.base import Problem
from sandbox import SandboxPool, evaluate


def slot_rng(seed: int, slot: int, stream: int | None = None) -> np.random.Generator:
    """The generator of one slot (parent selection), or of one stream of it (the proposal)."""
    key = [seed, slot] if stream is None else [seed, slot, stream]
    return np.random.default_rng(key)


@dataclass(frozen=True)
class SlotGenerators:
    """The loop's randomness: one generator per slot, derived from the run's seed.

    Parent selection and the proposal draw from separate streams of the slot,
    so the same seed gives the same slots whatever the timing.
    """

    seed: int

    def selection(self, slot: int) -> np.random.Generator:
        """The generator of slot ``slot``'s island, operator and parents."""
        return slot_rng(self.seed, slot)

    def proposal(self, slot: int) -> np.random.Generator:
        """The generator handed to the proposer for slot ``slot``."""
        return slot_rng(self.seed, slot, 0)


class Evaluator(Protocol):
    """Evaluates a candidate's code (the cascade), or names the known behaviour it matches."""

    def __call__(self, code: str, is_known_behaviour: Callable[[str], bool]
                 ) -> CascadeResult | str:
        """The cascade's result, or the probe fingerprint of a behavioural duplicate."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class CascadeEvaluator:
    """The evaluation cascade on the training set in a sandbox pool (:func:`run_cascade`)."""

    problem: Problem[object]
    training: TrainingSet
    pool: SandboxPool
    time_limit: float
    runtime_limit: float | None = None
    score: str = "gap"
    """``evaluation.score``: ``gap``, ``ratio``, ``mix`` or ``balanced``
    (:func:`training_score`)."""
    timing: TimingGate | None = None
    """The runtime gate at scale (``evaluation.timing_n``), or None."""

    def __call__(self, code: str, is_known_behaviour: Callable[[str], bool]
                 ) -> CascadeResult | str:
        """Run the cascade on ``code``."""
        return run_cascade(self.problem, code, self.training, self.pool,
                           time_limit=self.time_limit, runtime_limit=self.runtime_limit,
                           is_known_behaviour=is_known_behaviour, score=self.score,
                           timing=self.timing)


class Tuner(Protocol):
    """Tunes a program's numeric literals (a ``tune`` slot), or finds nothing."""

    def __call__(self, code: str) -> TunedProgram | None:
        """``code`` with better literals (and what changed), or None."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class TunedProgram:
    """A tuner's result: the new code and a one-line idea describing the change."""

    code: str
    idea: str


@dataclass(frozen=True)
class ProbeTuner:
    """Nelder-Mead on a program's literals, scored on the probe instances in the sandbox.

    Parameters
    ----------
    max_evaluations
        Sandbox evaluations one tuning may spend (``search.tune_evaluations``).
    """

    problem: Problem[object]
    training: TrainingSet
    pool: SandboxPool
    time_limit: float
    score: str = "gap"
    max_evaluations: int = 24

    def __call__(self, code: str) -> TunedProgram | None:
        """The program with its literals optimised on the probe set, or None."""
        spec = self.problem.candidate_spec
        try:
            tuned = tune(code, spec.function_name, self._probe_score, policy=spec.policy,
                         max_evaluations=self.max_evaluations)
        except (SyntaxError, ValueError, RecursionError):
            return None
        except EvaluationCancelled:  # the run's time limit or Ctrl-C: no tuning
            return None
        if tuned is None:
            return None
        return TunedProgram(tuned.code, tuned.describe())

    def _probe_score(self, code: str) -> float | None:
        """Training score of ``code`` on the probe instances (the tuner's objective)."""
        t = self.training
        probe = TrainingSet(t.instances[: t.probe], t.references[: t.probe], t.probe,
                            t.groups[: t.probe])
        limit = self.time_limit * t.probe / len(t.instances)
        result = evaluate(self.problem, probe.instances, code, self.pool, max(1.0, limit),
                          references=probe.references, check=False)
        if not result.ok:
            return None
        return training_score(result, probe, self.score)


class Recorder(Protocol):
    """Where the loop commits its candidates (the archive, for one run)."""

    def record_candidate(self, program: Program, parents: Sequence[Parent],
                         evaluations: Sequence[Evaluation], model_calls: Sequence[ModelCall],
                         duplicate_of: int | None) -> int:
        """Commit one candidate in one transaction; returns its program id."""
        ...  # pragma: no cover

    def record_model_calls(self, calls: Sequence[ModelCall]) -> None:
        """Commit model calls that produced no program."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class ArchiveRecorder:
    """Records one run's candidates in an :class:`~archive.Archive`."""

    archive: Archive
    run_id: int

    def record_candidate(self, program: Program, parents: Sequence[Parent],
                         evaluations: Sequence[Evaluation], model_calls: Sequence[ModelCall],
                         duplicate_of: int | None) -> int:
        """Commit one candidate in one transaction; returns its program id."""
        return self.archive.record_candidate(self.run_id, program, parents=list(parents),
                                             evaluations=list(evaluations),
                                             model_calls=list(model_calls),
                                             duplicate_of=duplicate_of)

    def record_model_calls(self, calls: Sequence[ModelCall]) -> None:
        """Commit model calls that produced no program."""
        self.archive.record_model_calls(self.run_id, list(calls))


@dataclass(frozen=True)
class LoopSettings:
    """How the loop proposes: operator weights, slots in flight and the last proposal time.

    Parameters
    ----------
    operators
        Weight per operator (``search.operators``); operators of weight 0 are never drawn.
    in_flight
        Candidates proposed and evaluated at once (see :func:`in_flight`).
    deadline
        ``time.monotonic()`` of the run's time limit: no slot is proposed after it.
    """

    operators: Mapping[str, float]
    in_flight: int
    deadline: float | None = None
    tune_top: int = 0
    """A ``tune`` slot tunes its parent when fewer than this many programs score better
    and the parent was never tuned (``search.tune_top``; 0: never)."""
    step_limit: int | None = None
    """The timing gate's step limit (:class:`~discover.search.timing.TimingGate`), or None:
    members' ``load`` is their archived timing steps over it."""

    def __post_init__(self) -> None:
        if self.tune_top < 0:
            raise ValueError(f"tune_top must be >= 0, got {self.tune_top}")
        if self.in_flight < 1:
            raise ValueError(f"in_flight must be >= 1, got {self.in_flight}")
        if self.step_limit is not None and self.step_limit < 1:
            raise ValueError(f"step_limit must be >= 1 or None, got {self.step_limit}")
        if not any(w > 0 for w in self.operators.values()):
            raise ValueError("at least one operator needs a positive weight")

    @classmethod
    def from_config(cls, config: RunConfig, deadline: float | None = None,
                    step_limit: int | None = None) -> LoopSettings:
        """The settings of ``config`` (``search.operators``, ``search.in_flight``)."""
        return cls(dict(config.search.operators), in_flight(config), deadline,
                   config.search.tune_top, step_limit)


def in_flight(config: RunConfig) -> int:
    """Candidates proposed and evaluated at once (``search.in_flight``, 0: automatic).

    Automatic: twice the workers, so workers stay busy while the orchestrator
    records and proposes; with language models at least the request concurrency.
    """
    if config.search.in_flight > 0:
        return config.search.in_flight
    depth = 2 * max(config.workers, 1)
    return depth if config.llm.offline else max(depth, config.llm.concurrency)


__all__ = [
    "ArchiveRecorder",
    "CascadeEvaluator",
    "Evaluator",
    "LoopSettings",
    "ProbeTuner",
    "Recorder",
    "SlotGenerators",
    "TunedProgram",
    "Tuner",
    "in_flight",
    "slot_rng",
]
