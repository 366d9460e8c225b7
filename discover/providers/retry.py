"""Retry timing: exponential backoff with jitter that honours Retry-After.

The SDKs' own retries are switched off (``max_retries=0``) so that this policy
is the only one in force: its attempts are counted, its waits are drawn from the
run's seeded generator, and it gives up after a fixed number of attempts.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class UniformSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1): a numpy Generator, a SharedGenerator."""

    def random(self) -> float:
        """One uniform draw."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a transient failure and how long to wait first.

    Parameters
    ----------
    max_attempts
        Requests per call, the first included (1 = never retry).
    base_delay
        Wait before the first retry, in seconds, before jitter.
    multiplier
        Growth of the wait per further retry.
    max_delay
        Cap on a backoff wait.
    jitter
        Fraction of each backoff wait that is random: the wait is drawn uniformly
        from ``[(1 - jitter)·w, w]``, spreading out clients that failed together.
    max_retry_after
        Longest server-requested wait honoured; a longer Retry-After is treated as
        "unavailable for now" and waits only this long.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.5
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must be non-negative")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must lie in [0, 1], got {self.jitter}")

    def backoff(self, retry: int, rng: UniformSource) -> float:
        """Jittered exponential wait before retry number ``retry`` (1-based)."""
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** (retry - 1))
        return float(ceiling * (1.0 - self.jitter * float(rng.random())))

    def delay(self, retry: int, retry_after: float | None, rng: UniformSource) -> float:
        """Seconds to wait before retry number ``retry``.

        A server's Retry-After wins when present (capped at ``max_retry_after``):
        waiting less would only earn another 429. Otherwise the jittered backoff.
        The generator is drawn from either way, so the sequence of draws does not
        depend on which servers sent headers.
        """
        backoff = self.backoff(retry, rng)
        if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        return backoff


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds a server asked us to wait, from ``retry-after-ms`` or ``retry-after``.

    ``retry-after-ms`` (OpenAI, Anthropic) is more precise and is read first;
    ``retry-after`` may be seconds (integer or decimal) or an HTTP date. Header
    names are matched case-insensitively. Returns ``None`` when absent or unreadable.
    """
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
