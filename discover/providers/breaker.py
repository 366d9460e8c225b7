"""Stop a run cleanly when a provider keeps failing.

Each request already has its retries; when several requests in a row still
fail, the provider is down, the key is wrong or the quota is gone. Continuing
would burn time (retry forever) or silently produce nothing (skip forever), so
the breaker opens and every later call raises :class:`CircuitOpen`, a
:class:`Fatal` error whose message says what kept failing.
"""

from __future__ import annotations

import threading

from discover.providers.base import CircuitOpen, ProviderError


class CircuitBreaker:
    """Counts consecutive failed requests of one provider.

    Parameters
    ----------
    provider
        The provider spec, for messages.
    threshold
        Failed requests in a row that open the circuit.
    """

    def __init__(self, provider: str, threshold: int) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        self.provider = provider
        self.threshold = threshold
        self._lock = threading.Lock()
        self._consecutive = 0
        self._open: CircuitOpen | None = None

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"CircuitBreaker({self.provider!r}, {self._consecutive}/{self.threshold}, {state})"

    @property
    def consecutive_failures(self) -> int:
        """Failed requests since the last success."""
        with self._lock:
            return self._consecutive

    def check(self) -> None:
        """Raise the :class:`CircuitOpen` error again if the circuit is open."""
        with self._lock:
            if self._open is not None:
                raise CircuitOpen(str(self._open.args[0]), status=self._open.status)

    def success(self) -> None:
        """A request succeeded: the count starts again."""
        with self._lock:
            self._consecutive = 0

    def failure(self, error: ProviderError) -> None:
        """A request failed for good; opens the circuit (and raises) at the threshold.

        Raises
        ------
        CircuitOpen
            When this failure is the ``threshold``-th in a row.
        """
        with self._lock:
            if self._open is not None:
                # A request that was in flight when the circuit opened: the run is
                # already stopping for the reason given then (which names the limit).
                raise CircuitOpen(str(self._open.args[0]), provider=self.provider,
                                  status=self._open.status)
            self._consecutive += 1
            if self._consecutive < self.threshold:
                return
            self._open = CircuitOpen(
                f"{self._consecutive} requests in a row failed; stopping instead of retrying "
                f"forever. Last error: {error}",
                provider=self.provider,
                status=error.status,
            )
            raise self._open
