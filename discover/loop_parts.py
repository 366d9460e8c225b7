"""What the search loop is given: its evaluator, recorder, generators and settings.

:class:`~discover.loop.SearchLoop` receives these rather than building them from
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
from discover.cascade import CascadeResult, TrainingSet, run_cascade
from discover.config import RunConfig
from evaluators.base import Problem
from sandbox import SandboxPool


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

    def __call__(self, code: str, is_known_behaviour: Callable[[str], bool]
                 ) -> CascadeResult | str:
        """Run the cascade on ``code``."""
        return run_cascade(self.problem, code, self.training, self.pool,
                           time_limit=self.time_limit, runtime_limit=self.runtime_limit,
                           is_known_behaviour=is_known_behaviour)


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

    def __post_init__(self) -> None:
        if self.in_flight < 1:
            raise ValueError(f"in_flight must be >= 1, got {self.in_flight}")
        if not any(w > 0 for w in self.operators.values()):
            raise ValueError("at least one operator needs a positive weight")

    @classmethod
    def from_config(cls, config: RunConfig, deadline: float | None = None) -> LoopSettings:
        """The settings of ``config`` (``search.operators``, ``search.in_flight``)."""
        return cls(dict(config.search.operators), in_flight(config), deadline)


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
    "Recorder",
    "SlotGenerators",
    "in_flight",
    "slot_rng",
]
