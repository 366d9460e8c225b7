"""When a run stops: small criteria, combined with :class:`FirstOf`.

Modelled on PyVRP's ``pyvrp.stop``: each criterion is a small object called
with the search's progress; it returns a :class:`Stop` (why, and how the run
ends) or ``None`` to go on. The runner asks one combined criterion before every
record, so what ends a run — the budget, the time limit, a stalled search, a
failed model provider — is decided in one place and can be tested without a
sandbox or an archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from discover.providers import BudgetExhausted, Fatal

MAX_STALLED = 500
"""Consecutive proposals without a new program before the run stops as stalled."""


@dataclass(frozen=True)
class SearchProgress:
    """What the stop criteria see of a search.

    Parameters
    ----------
    evaluated
        New programs evaluated (what the budget counts).
    seconds
        Wall seconds since the run started.
    stalled
        Proposals in a row that produced no new working program.
    provider_error
        The model provider's failure that interrupted the search, if any.
    """

    evaluated: int
    seconds: float
    stalled: int = 0
    provider_error: Exception | None = None

    def __post_init__(self) -> None:
        if self.evaluated < 0 or self.stalled < 0 or self.seconds < 0:
            raise ValueError("progress counts and seconds must be non-negative")


@dataclass(frozen=True)
class Stop:
    """Why a run stops.

    Parameters
    ----------
    reason
        One line, shown to the user and returned in the run's result.
    failed
        The run ends as failed (stalled, provider down) rather than finished.
    record_in_flight
        Record the candidates already proposed before stopping (they are paid
        for): true when the run stops on its time limit.
    """

    reason: str
    failed: bool = False
    record_in_flight: bool = False


class StopCriterion(Protocol):
    """Decides from the progress whether the search stops."""

    def __call__(self, progress: SearchProgress) -> Stop | None:
        """A :class:`Stop` to stop, ``None`` to go on."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class MaxEvaluations:
    """Stop when ``budget`` new programs are evaluated."""

    budget: int

    def __post_init__(self) -> None:
        if self.budget < 0:
            raise ValueError(f"budget must be >= 0, got {self.budget}")

    def __call__(self, progress: SearchProgress) -> Stop | None:
        """Stop once the budget is met."""
        return Stop("budget reached") if progress.evaluated >= self.budget else None


@dataclass(frozen=True)
class MaxRuntime:
    """Stop (after recording what is in flight) once ``seconds`` have passed."""

    seconds: float

    def __post_init__(self) -> None:
        if not self.seconds >= 0:
            raise ValueError(f"the time limit must be >= 0, got {self.seconds}")

    def __call__(self, progress: SearchProgress) -> Stop | None:
        """Stop once the time limit is exceeded."""
        if progress.seconds > self.seconds:
            return Stop(f"time limit of {self.seconds:g} s reached", record_in_flight=True)
        return None


@dataclass(frozen=True)
class Stalled:
    """Fail when ``proposals`` proposals in a row produced no new working program."""

    proposals: int = MAX_STALLED

    def __post_init__(self) -> None:
        if self.proposals < 1:
            raise ValueError(f"proposals must be >= 1, got {self.proposals}")

    def __call__(self, progress: SearchProgress) -> Stop | None:
        """Fail once the search has stalled."""
        if progress.stalled >= self.proposals:
            return Stop(f"search stalled: {self.proposals} proposals in a row produced no new "
                        "working program (duplicates, failures or no code)", failed=True)
        return None


@dataclass(frozen=True)
class ProviderFailed:
    """Stop when the model provider failed: fatally (the run fails) or out of budget."""

    def __call__(self, progress: SearchProgress) -> Stop | None:
        """Stop on a provider error: failed when fatal, finished when the money ran out."""
        error = progress.provider_error
        if isinstance(error, BudgetExhausted):
            return Stop(f"model budget exhausted: {error}")
        if isinstance(error, Fatal):
            return Stop(f"model provider failed: {error}", failed=True)
        return None


@dataclass(frozen=True)
class FirstOf:
    """The first of ``criteria`` (in order) that stops the search."""

    criteria: tuple[StopCriterion, ...]

    def __call__(self, progress: SearchProgress) -> Stop | None:
        """The first criterion's stop, or ``None`` when none stops."""
        for criterion in self.criteria:
            stop = criterion(progress)
            if stop is not None:
                return stop
        return None

    def __or__(self, other: StopCriterion) -> FirstOf:
        """``a | b``: stop when either stops (``a`` first)."""
        return FirstOf((*self.criteria, other))


def run_criteria(budget: int, time_limit: float | None,
                 stalled: int = MAX_STALLED) -> FirstOf:
    """What stops ``discover run``: a failure first, then the budget, then the time limit."""
    criteria: list[StopCriterion] = [Stalled(stalled), ProviderFailed(), MaxEvaluations(budget)]
    if time_limit is not None:
        criteria.append(MaxRuntime(time_limit))
    return FirstOf(tuple(criteria))


__all__ = [
    "MAX_STALLED",
    "FirstOf",
    "MaxEvaluations",
    "MaxRuntime",
    "ProviderFailed",
    "SearchProgress",
    "Stalled",
    "Stop",
    "StopCriterion",
    "run_criteria",
]
