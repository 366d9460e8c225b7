"""Exact SMTT methods behind one dispatcher (filled in by the exact modules)."""

from __future__ import annotations

from evaluators.base import Reference
from evaluators.smtt.instance import SmttInstance

REFERENCE_METHODS: tuple[str, ...] = ()


def solve(instance: SmttInstance, method: str, time_limit: float | None = None) -> Reference:
    """Solve ``instance`` exactly with ``method``."""
    raise KeyError(f"unknown exact method {method!r}")
