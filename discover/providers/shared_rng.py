"""A numpy Generator shared by threads (provider calls may run concurrently)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class SharedGenerator:
    """Serialises draws from one :class:`numpy.random.Generator` (which is not thread-safe).

    Parameters
    ----------
    generator
        The run's generator (or a child spawned from it).
    """

    def __init__(self, generator: np.random.Generator) -> None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"expected a numpy Generator, got {type(generator).__name__}")
        self._generator = generator
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedGenerator({self._generator!r})"

    def random(self) -> float:
        """A float in [0, 1)."""
        with self._lock:
            return float(self._generator.random())

    def choice_index(self, weights: Sequence[float]) -> int:
        """An index drawn with probability proportional to ``weights``."""
        total = float(sum(weights))
        if total <= 0 or any(w < 0 for w in weights):
            raise ValueError("weights must be non-negative with a positive sum")
        probabilities = np.asarray(weights, dtype=float) / total
        with self._lock:
            return int(self._generator.choice(len(probabilities), p=probabilities))
