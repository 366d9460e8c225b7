"""What every model provider returns and raises.

A provider turns a (system, user) prompt into a :class:`Completion`. Failures
are typed so that the caller's policy can act on them: :class:`RateLimited` and
:class:`Unavailable` are transient and retried (honouring the server's
Retry-After), :class:`RequestRejected` is specific to one request and not
retried, :class:`Fatal` means the configuration is wrong (bad key, unknown
model) and the run must stop. No object here ever holds an API key.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class FinishReason(enum.Enum):
    """Why the model stopped writing."""

    STOP = "stop"
    LENGTH = "length"  # hit max_tokens: the answer may be truncated
    CONTENT_FILTER = "content_filter"
    TOOL_USE = "tool_use"
    OTHER = "other"


@dataclass(frozen=True)
class Completion:
    """One successful model call.

    Parameters
    ----------
    text
        The answer's text.
    model
        The model that answered, as the server reports it.
    provider
        The provider spec that was called (``"openai:gpt-4o-mini"``).
    tokens_in, tokens_out
        Token usage as the server reports it (input includes cached input).
    cost
        Dollars for this call from the price table, ``None`` when the model is not priced.
    latency
        Seconds the successful request took.
    finish_reason
        Why generation stopped.
    attempts
        Requests made for this completion, including failed ones that were retried.
    """

    text: str
    model: str
    provider: str
    tokens_in: int
    tokens_out: int
    cost: float | None
    latency: float
    finish_reason: FinishReason
    attempts: int = 1

    def __post_init__(self) -> None:
        if self.tokens_in < 0 or self.tokens_out < 0:
            raise ValueError("token counts must be non-negative")
        if self.cost is not None and (not math.isfinite(self.cost) or self.cost < 0):
            raise ValueError(f"cost must be a non-negative number or None, got {self.cost}")
        if self.latency < 0:
            raise ValueError("latency must be non-negative")
        if self.attempts < 1:
            raise ValueError("attempts must be >= 1")
        if not isinstance(self.finish_reason, FinishReason):
            raise TypeError(f"finish_reason must be a FinishReason, got {self.finish_reason!r}")

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.tokens_in + self.tokens_out


class ProviderError(Exception):
    """A model call failed.

    Parameters
    ----------
    message
        What happened (never contains a key).
    provider
        The provider spec, when known.
    status
        The HTTP status, when there was a response.
    """

    def __init__(self, message: str, *, provider: str | None = None, status: int | None = None):
        self.provider = provider
        self.status = status
        prefix = f"{provider}: " if provider else ""
        super().__init__(prefix + message)


class TransientError(ProviderError):
    """A failure that may go away: retry after ``retry_after`` seconds if the server said so."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """HTTP 429: too many requests or tokens per minute."""


class Unavailable(TransientError):
    """Server error (5xx, 529 overloaded), timeout, connection failure or malformed response."""


class RequestRejected(ProviderError):
    """The server refused this request (400, 413, 422: e.g. prompt too long); not retried."""


class Fatal(ProviderError):
    """The configuration is wrong (bad key, no permission, unknown model): stop the run."""


@dataclass(frozen=True)
class PartialUsage:
    """Tokens of a request cut before it finished, and how they were obtained.

    Parameters
    ----------
    tokens_in, tokens_out
        Prompt and answer tokens, ``None`` when unknown (never a made-up 0).
    basis
        How they were obtained, in words, for the archive (``"prompt tokens
        reported by the server, 37 answer tokens counted as received stream
        events"``): a cancelled request has no final usage report, so counts are
        often estimates and must say so.
    """

    tokens_in: int | None
    tokens_out: int | None
    basis: str

    def __post_init__(self) -> None:
        for count in (self.tokens_in, self.tokens_out):
            if count is not None and count < 0:
                raise ValueError("token counts must be non-negative or None")
        if not self.basis:
            raise ValueError("basis must say how the tokens were obtained")


UNKNOWN_USAGE = PartialUsage(None, None, "tokens unknown: the request was cut before any "
                                         "usage was reported")
"""A cancelled request whose tokens nobody counted."""


class Cancelled(ProviderError):
    """The run's time limit or Ctrl-C cut this request; not a provider fault.

    Not retried and not counted by the circuit breaker: the call is archived as
    cancelled, with ``usage`` (the tokens received before the cut, or unknown).
    """

    def __init__(self, message: str, *, provider: str | None = None, status: int | None = None,
                 usage: PartialUsage = UNKNOWN_USAGE):
        super().__init__(message, provider=provider, status=status)
        self.usage = usage


class MissingApiKey(Fatal):
    """The environment variable that should hold the API key is unset or empty."""


class RetriesExhausted(ProviderError):
    """Every attempt of one request failed with a transient error.

    Parameters
    ----------
    attempts
        Requests made.
    last
        The last transient error.
    """

    def __init__(self, message: str, *, provider: str | None, attempts: int, last: ProviderError):
        super().__init__(message, provider=provider, status=last.status)
        self.attempts = attempts
        self.last = last


class CircuitOpen(Fatal):
    """A provider failed too many requests in a row: the run must stop."""


class BudgetExhausted(Exception):
    """A token or dollar cap is reached; no further model calls are made.

    Not a :class:`ProviderError`: running out of budget is a normal way for a run
    to end, not a fault.
    """


@runtime_checkable
class Provider(Protocol):
    """Anything that answers prompts: a single model, a managed one, or a pool."""

    @property
    def name(self) -> str:
        """The provider spec (``"anthropic:claude-sonnet-4-5"``)."""
        ...

    def complete(
        self, system: str, user: str, *, max_tokens: int, temperature: float | None = None
    ) -> Completion:
        """Answer one prompt.

        Parameters
        ----------
        system, user
            The system and user messages.
        max_tokens
            Cap on output tokens.
        temperature
            Sampling temperature, or ``None`` for the model's default.

        Raises
        ------
        ProviderError
            Typed as above.
        """
        ...
