"""Token and dollar caps shared by every provider of a run."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

from discover.providers.base import BudgetExhausted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetSnapshot:
    """What a run has spent so far."""

    calls: int
    tokens_in: int
    tokens_out: int
    cost: float
    unpriced_calls: int

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.tokens_in + self.tokens_out


class Budget:
    """Thread-safe running totals with optional caps.

    A call is refused (:class:`BudgetExhausted`) once a cap is reached. Calls
    already in flight when the cap is crossed still complete and are counted, so
    totals may exceed a cap by at most the calls running concurrently.

    Parameters
    ----------
    max_tokens
        Cap on input + output tokens, or ``None``.
    max_cost
        Cap on dollars, or ``None``. Calls to models without a price are not
        counted here (see :attr:`BudgetSnapshot.unpriced_calls`).
    """

    def __init__(self, max_tokens: int | None = None, max_cost: float | None = None) -> None:
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1 or None, got {max_tokens}")
        if max_cost is not None and (not math.isfinite(max_cost) or max_cost <= 0):
            raise ValueError(f"max_cost must be a positive number or None, got {max_cost}")
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self._lock = threading.Lock()
        self._calls = 0
        self._tokens_in = 0
        self._tokens_out = 0
        self._cost = 0.0
        self._unpriced = 0

    def __repr__(self) -> str:
        s = self.snapshot()
        return (f"Budget(tokens={s.tokens}/{self.max_tokens}, "
                f"cost={s.cost:.4f}/{self.max_cost}, calls={s.calls})")

    def snapshot(self) -> BudgetSnapshot:
        """Totals so far."""
        with self._lock:
            return BudgetSnapshot(self._calls, self._tokens_in, self._tokens_out, self._cost,
                                  self._unpriced)

    def exhausted_reason(self) -> str | None:
        """Which cap is reached, or ``None``."""
        with self._lock:
            used = self._tokens_in + self._tokens_out
            if self.max_tokens is not None and used >= self.max_tokens:
                return f"token budget reached: {used} of {self.max_tokens} tokens used"
            if self.max_cost is not None and self._cost >= self.max_cost:
                return f"dollar budget reached: ${self._cost:.4f} of ${self.max_cost:.4f} spent"
        return None

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` when a cap is reached."""
        reason = self.exhausted_reason()
        if reason is not None:
            raise BudgetExhausted(reason)

    def record(self, tokens_in: int, tokens_out: int, cost: float | None) -> None:
        """Count one completed call."""
        if tokens_in < 0 or tokens_out < 0 or (cost is not None and cost < 0):
            raise ValueError("usage must be non-negative")
        with self._lock:
            self._calls += 1
            self._tokens_in += tokens_in
            self._tokens_out += tokens_out
            if cost is None:
                self._unpriced += 1
            else:
                self._cost += cost
