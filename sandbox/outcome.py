"""Typed results of running a candidate in the sandbox."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from sandbox.channel import RawOutput


class OutcomeStatus(enum.Enum):
    """How a candidate's run ended."""

    OK = "ok"
    """Ran on every payload and every output crossed the channel."""
    INVALID_OUTPUT = "invalid_output"
    """An output could not be sent, was too large, or failed validation."""
    EXCEPTION = "exception"
    """The candidate raised (at import or in the function)."""
    TIMEOUT = "timeout"
    """The wall-clock deadline, the CPU limit or the step limit was hit."""
    MEMORY = "memory"
    """The candidate ran out of its address-space allowance."""
    CRASHED = "crashed"
    """The child died by a signal or exited without finishing."""
    FORBIDDEN = "forbidden"
    """The candidate tried something the sandbox refuses."""
    PRECHECK_FAILED = "precheck_failed"
    """The source was rejected before running."""


@dataclass(frozen=True)
class ErrorInfo:
    """Details of a failure, phrased so a language model can act on them.

    Parameters
    ----------
    message
        One line: what went wrong.
    exception_type
        Name of the exception class, when the candidate raised.
    traceback
        Last lines of the traceback (or of the Python stack at a refused call).
    signal
        Name of the signal that ended the child (``"SIGSEGV"``), if any.
    refused
        What the sandbox refused (a system call, an import, an output flood).
    payload_index
        The payload being evaluated when it happened (``None`` at import time).
    """

    message: str
    exception_type: str | None = None
    traceback: tuple[str, ...] = ()
    signal: str | None = None
    refused: str | None = None
    payload_index: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.traceback, tuple):
            raise TypeError("traceback must be a tuple of lines")

    def __str__(self) -> str:
        where = "" if self.payload_index is None else f" (payload {self.payload_index})"
        return f"{self.message}{where}"


STEP_LIMIT_MESSAGE = "step limit reached"
"""How the message of a ``timeout`` at the step limit begins (:func:`step_limit_error`)."""


def step_limit_error(steps: int, limit: int, payload_index: int) -> ErrorInfo:
    """The error of a run stopped at its step limit (``steps`` counted when it stopped)."""
    return ErrorInfo(f"{STEP_LIMIT_MESSAGE}: more than {limit:,} steps (stopped at "
                     f"{steps:,})", payload_index=payload_index)


@dataclass(frozen=True)
class Outcome:
    """Result of one candidate on a batch of payloads.

    Parameters
    ----------
    status
        How the run ended.
    outputs
        Raw outputs decoded from the channel, for the payloads the child
        finished, in payload order (a prefix of the batch). Plain data only.
    seconds
        Per-payload seconds as measured inside the child (informational).
    total_seconds
        Wall time of the child, measured by its supervisor.
    error
        What went wrong, when ``status`` is not ``OK``.
    stdout
        Tail of what the child printed (capped).
    cpu_seconds
        CPU time the child used (user + system), when known.
    max_rss_kb
        Peak resident memory of the child in KiB, when known.
    n_payloads
        Size of the batch.
    isolation_level
        The pool's isolation level (see :attr:`sandbox.SandboxPool.isolation_level`).
    steps
        Per finished payload, the candidate's steps, when the
        evaluation asked for them (``count_steps``; :class:`sandbox.steps.StepCounter`).
        A run stopped at its ``step_limit`` is a ``timeout`` whose message begins
        with :data:`STEP_LIMIT_MESSAGE` (:attr:`step_limit_reached`).
    """

    status: OutcomeStatus
    outputs: tuple[RawOutput, ...] = ()
    seconds: tuple[float, ...] = ()
    total_seconds: float = 0.0
    error: ErrorInfo | None = None
    stdout: str = ""
    cpu_seconds: float | None = None
    max_rss_kb: int | None = None
    n_payloads: int = 0
    isolation_level: str = ""
    steps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.status, OutcomeStatus):
            raise TypeError(f"status must be an OutcomeStatus, got {self.status!r}")
        if len(self.outputs) != len(self.seconds):
            raise ValueError("outputs and seconds must have the same length")
        if len(self.outputs) > self.n_payloads:
            raise ValueError("more outputs than payloads")
        if self.status is OutcomeStatus.OK and len(self.outputs) != self.n_payloads:
            raise ValueError("an ok outcome needs an output for every payload")
        if self.status is not OutcomeStatus.OK and self.error is None:
            raise ValueError(f"a {self.status.value} outcome needs error details")
        if not math.isfinite(self.total_seconds) or self.total_seconds < 0:
            raise ValueError("total_seconds must be finite and non-negative")
        if len(self.steps) > len(self.outputs) or any(s < 0 for s in self.steps):
            raise ValueError("steps: at most one non-negative count per output")

    @property
    def total_steps(self) -> int | None:
        """All payloads' step counts summed; None unless every payload has one."""
        if self.n_payloads == 0 or len(self.steps) != self.n_payloads:
            return None
        return sum(self.steps)

    @property
    def step_limit_reached(self) -> bool:
        """True when the run was stopped at its step limit (a ``timeout``)."""
        return (self.status is OutcomeStatus.TIMEOUT and self.error is not None
                and self.error.message.startswith(STEP_LIMIT_MESSAGE))

    @property
    def ok(self) -> bool:
        """True when the candidate produced an output for every payload."""
        return self.status is OutcomeStatus.OK

    def describe(self) -> str:
        """One line for logs and for feedback to a language model."""
        if self.error is None:
            return f"{self.status.value} in {self.total_seconds:.3f}s"
        return f"{self.status.value}: {self.error}"
