"""Classic SMTT heuristics by name (filled in by the heuristics module)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from evaluators.smtt.instance import SmttInstance

HEURISTICS: dict[str, Callable[[SmttInstance], Sequence[int]]] = {}
