"""Events a run emits, and the callback protocol that receives them.

The loop never prints: it calls :meth:`RunCallback.on_event` with one of the
frozen event dataclasses below, and the CLI attaches a live display, a quiet
printer or a JSON-lines writer (see :mod:`discover.reporting.progress`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RunStarted:
    """A run began (or resumed)."""

    run_id: int
    problem: str
    budget: int
    evaluated: int
    """Evaluations already done (non-zero when resuming)."""
    isolation: str
    models: tuple[str, ...]
    train_instances: int
    resumed: bool = False


@dataclass(frozen=True)
class CandidateEvaluated:
    """One candidate went through the cascade (or was recognised as a duplicate)."""

    program_id: int
    evaluated: int
    status: str
    """An :class:`archive.EvaluationStatus` value (ok, too_slow, rejected, timeout, ...),
    or ``duplicate`` / ``no_code`` for a candidate that was not evaluated."""
    score: float | None
    best_score: float | None
    operator: str
    model: str
    seconds: float
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


@dataclass(frozen=True)
class ValidationScored:
    """A program was scored on the validation split."""

    program_id: int
    score: float | None
    ratio: float | None
    wins: int
    losses: int


@dataclass(frozen=True)
class ProviderTrouble:
    """A model call failed after its retries (the run may continue)."""

    model: str
    message: str
    consecutive: int


@dataclass(frozen=True)
class RunFinished:
    """The run stopped."""

    run_id: int
    status: str
    reason: str
    evaluated: int
    best_program_id: int | None
    best_score: float | None
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)


Event = RunStarted | CandidateEvaluated | ValidationScored | ProviderTrouble | RunFinished


class RunCallback(Protocol):
    """Receives every event of a run, in order, on the loop's thread."""

    def on_event(self, event: Event) -> None:
        """Handle one event; must not raise."""
        ...


def event_to_dict(event: Event) -> dict[str, Any]:
    """JSON-friendly view with the event type under ``"event"``."""
    data = dataclasses.asdict(event)
    data["event"] = type(event).__name__
    return data
