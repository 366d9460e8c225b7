"""Classic SMTT heuristics by name (filled in by the heuristics module)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from evaluators.smtt.instance import SmttInstance

HEURISTICS: dict[str, Callable[[SmttInstance], Sequence[int]]] = {}


def baseline_source(name: str) -> str:
    """Standalone source of heuristic ``name`` defining ``schedule(processing_times, due_dates)``."""
    raise KeyError(name)
