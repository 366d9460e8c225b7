"""A provider with the run's policies around it: retries, limits, budget, accounting.

:class:`ManagedProvider` wraps a single-attempt provider (OpenAI, Anthropic) and
adds, in this order for every call: the circuit breaker (refuse at once when the
provider has been failing), the budget check, a concurrency slot, the request,
then on a transient error a wait (Retry-After or jittered backoff) and another
attempt, up to the policy's maximum. Every attempt is reported to an optional
listener so that the archive can show each request's outcome, tokens and cost.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from discover.providers.base import (
    Cancelled,
    CircuitOpen,
    Completion,
    Fatal,
    Provider,
    ProviderError,
    RateLimited,
    RequestRejected,
    RetriesExhausted,
    TransientError,
)
from discover.providers.breaker import CircuitBreaker
from discover.providers.budget import Budget
from discover.providers.cancel import TIME_LIMIT, CancelScope
from discover.providers.pricing import PriceTable
from discover.providers.retry import RetryPolicy, UniformSource

log = logging.getLogger(__name__)

DEADLINE_MARGIN = 1.0
"""Seconds past the deadline at which a request's own timeout ends it, when a scope cuts it."""


class AttemptOutcome(enum.Enum):
    """How one HTTP request of a call ended."""

    OK = "ok"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    FATAL = "fatal"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class AttemptRecord:
    """One request, successful or not, for the archive and the progress display.

    Parameters
    ----------
    provider, model
        Who was called.
    attempt
        1-based attempt number within the call.
    outcome
        How it ended.
    latency
        Seconds the request took.
    error
        The error message (never contains a key), ``None`` on success.
    status
        HTTP status of a failed request, when there was a response.
    wait
        Seconds waited before the next attempt, ``None`` when none followed.
    tokens_in, tokens_out, cost
        Usage and dollars (0 / ``None`` for failed requests).
    """

    provider: str
    model: str
    attempt: int
    outcome: AttemptOutcome
    latency: float
    error: str | None = None
    status: int | None = None
    wait: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None


AttemptListener = Callable[[AttemptRecord], None]


def _outcome(error: ProviderError) -> AttemptOutcome:
    if isinstance(error, Cancelled):
        return AttemptOutcome.CANCELLED
    if isinstance(error, RateLimited):
        return AttemptOutcome.RATE_LIMITED
    if isinstance(error, TransientError):
        return AttemptOutcome.UNAVAILABLE
    if isinstance(error, RequestRejected):
        return AttemptOutcome.REJECTED
    return AttemptOutcome.FATAL


class ManagedProvider:
    """Retries, concurrency limit, budget, circuit breaker and pricing around a provider.

    Parameters
    ----------
    inner
        A single-attempt provider.
    model
        The requested model name (the price-table key).
    retry
        When and how long to retry transient errors.
    rng
        Source of the backoff jitter (the run's generator or a child of it).
    prices
        Price table for the cost of each completion.
    budget
        Shared token/dollar caps.
    breaker
        This provider's circuit breaker.
    semaphore
        Shared concurrency limit (one slot per request in flight), or ``None``.
    listener
        Called with an :class:`AttemptRecord` after every request.
    sleep
        How to wait (tests may pass a recorder).
    deadline
        ``time.monotonic()`` value of the run's time limit, or ``None``. Requests are
        cut at it (each attempt's timeout ends there, no retry or wait crosses it),
        and what is cut raises :class:`Cancelled`.
    cancel
        The run's :class:`~discover.providers.cancel.CancelScope`: when it is
        cancelled (deadline or Ctrl-C) the request in flight is cut at once, no
        new one starts, and :class:`Cancelled` carries the tokens received.
    """

    def __init__(
        self,
        inner: Provider,
        *,
        model: str,
        retry: RetryPolicy,
        rng: UniformSource,
        prices: PriceTable,
        budget: Budget,
        breaker: CircuitBreaker,
        semaphore: threading.Semaphore | None = None,
        listener: AttemptListener | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
        cancel: CancelScope | None = None,
    ) -> None:
        self.inner = inner
        self.deadline = deadline
        self.cancel = cancel
        self.model = model
        self.retry = retry
        self.prices = prices
        self.budget = budget
        self.breaker = breaker
        self._rng = rng
        self._semaphore = semaphore
        self._listener = listener
        self._sleep = sleep

    @property
    def name(self) -> str:
        """The provider spec."""
        return self.inner.name

    def __repr__(self) -> str:
        return (f"ManagedProvider({self.inner!r}, max_attempts={self.retry.max_attempts}, "
                f"breaker={self.breaker!r})")

    def _notify(self, record: AttemptRecord) -> None:
        if self._listener is not None:
            self._listener(record)

    def _left(self) -> float | None:
        """Seconds to the deadline (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _stopped(self) -> bool:
        """Whether the run's work is cancelled (Ctrl-C, or the deadline)."""
        left = self._left()
        return (self.cancel is not None and self.cancel.cancelled) or \
            (left is not None and left <= 0)

    def _cancelled(self, what: str) -> Cancelled:
        reason = (self.cancel.reason if self.cancel is not None and self.cancel.reason
                  else TIME_LIMIT)
        return Cancelled(f"cancelled: {reason} {what}", provider=self.name)

    def _send(self, system: str, user: str, max_tokens: int, temperature: float | None,
              left: float | None) -> Completion:
        """The request itself, with the deadline and the cancel scope when there are."""
        extra: dict[str, object] = {}
        if left is not None:
            # The request ends at the deadline. With a scope, its timer cuts first and the
            # call keeps the tokens it received; the timeout, a moment later, is the backstop.
            extra["timeout"] = left + (DEADLINE_MARGIN if self.cancel is not None else 0.0)
        if self.cancel is not None:
            extra["cancel"] = self.cancel
        return self.inner.complete(system, user, max_tokens=max_tokens,
                                   temperature=temperature, **extra)

    def _attempt(
        self, system: str, user: str, max_tokens: int, temperature: float | None
    ) -> tuple[Completion | ProviderError, float]:
        """One request inside a concurrency slot: the completion or the typed error."""
        start = time.monotonic()
        left = self._left()
        if self._semaphore is not None and not self._acquire(left):
            return self._cancelled("before a request slot was free"), 0.0
        try:
            left = self._left()
            result: Completion | ProviderError
            if self._stopped():
                result = self._cancelled("before the request was sent")
            else:
                result = self._send(system, user, max_tokens, temperature, left)
        except ProviderError as error:
            result = error
        finally:
            if self._semaphore is not None:
                self._semaphore.release()
        latency = time.monotonic() - start
        if isinstance(result, ProviderError) and not isinstance(result, (Fatal, Cancelled)) \
                and self._stopped():
            result = self._cancelled(f"after {latency:.1f} s in flight ({result})")
        return result, latency

    def _acquire(self, left: float | None) -> bool:
        """A request slot, unless the deadline passes or the scope is cancelled first."""
        assert self._semaphore is not None
        while True:
            if self._stopped():
                return False
            # Short waits: a cancelled scope frees the waiters within a fraction of a second.
            step = 0.2 if left is None else max(min(0.2, left), 0.0)
            if self._semaphore.acquire(timeout=step):
                return True
            left = self._left()

    def _pause(self, seconds: float) -> None:
        """Wait before a retry; a cancelled scope ends the wait at once."""
        if self.cancel is not None and self._sleep is time.sleep:
            self.cancel.wait(seconds)
        else:
            self._sleep(seconds)

    def complete(
        self, system: str, user: str, *, max_tokens: int, temperature: float | None = None
    ) -> Completion:
        """Answer one prompt under the run's policies.

        Raises
        ------
        BudgetExhausted
            A token or dollar cap is reached (checked before every request).
        CircuitOpen
            This request was the ``threshold``-th in a row to fail, or the circuit
            was already open: the run must stop.
        Fatal
            Authentication, permission, unknown model, exhausted quota: not retried.
        RequestRejected
            The server refused this request (not retried; counts as a failure).
        RetriesExhausted
            Every attempt failed with a transient error (counts as a failure).
        """
        self.breaker.check()
        attempt = 0
        while True:
            attempt += 1
            self.budget.check()
            result, latency = self._attempt(system, user, max_tokens, temperature)
            if isinstance(result, Completion):
                return self._accept(result, attempt, latency)
            error = result
            wait = None
            if isinstance(error, TransientError) and attempt < self.retry.max_attempts:
                wait = self.retry.delay(attempt, error.retry_after, self._rng)
                left = self._left()
                if left is not None and wait >= left:
                    error, wait = self._cancelled(f"before a retry ({error})"), None
            tokens_in = tokens_out = 0
            cost = None
            if isinstance(error, Cancelled):
                # What a cut request received is paid for: it counts against the budget.
                tokens_in = error.usage.tokens_in or 0
                tokens_out = error.usage.tokens_out or 0
                if tokens_in or tokens_out:
                    cost = self.prices.cost(self.name, self.model, tokens_in, tokens_out)
                    self.budget.record(tokens_in, tokens_out, cost)
            self._notify(AttemptRecord(self.name, self.model, attempt, _outcome(error), latency,
                                       error=str(error), status=error.status, wait=wait,
                                       tokens_in=tokens_in, tokens_out=tokens_out, cost=cost))
            if wait is not None:
                log.info("%s; retrying in %.2f s (attempt %d of %d)", error, wait, attempt + 1,
                         self.retry.max_attempts)
                self._pause(wait)
                continue
            if isinstance(error, (Fatal, Cancelled)):
                raise error  # a cancelled request is not the provider's failure: no breaker
            final: ProviderError = error
            if isinstance(error, TransientError):
                final = RetriesExhausted(f"gave up after {attempt} attempt(s): {error}",
                                         provider=None, attempts=attempt, last=error)
            try:
                self.breaker.failure(final)
            except CircuitOpen as opened:
                raise opened from final
            raise final from (error if final is not error else None)

    def _accept(self, completion: Completion, attempt: int, latency: float) -> Completion:
        """Price, count and report a successful request."""
        cost = self.prices.cost(self.name, self.model, completion.tokens_in, completion.tokens_out)
        completion = dataclasses.replace(completion, cost=cost, attempts=attempt)
        self.budget.record(completion.tokens_in, completion.tokens_out, cost)
        self.breaker.success()
        self._notify(AttemptRecord(
            self.name, completion.model, attempt, AttemptOutcome.OK, latency,
            tokens_in=completion.tokens_in, tokens_out=completion.tokens_out, cost=cost,
        ))
        return completion
