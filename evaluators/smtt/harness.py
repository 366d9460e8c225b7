"""Trusted glue run inside the sandbox child for SMTT candidates.

Kept tiny and dependency-free: it turns the instance payload into fresh
Python lists (the candidate gets copies, never shared state) and returns the
candidate's output unchanged for the channel to encode; validation happens on
the trusted side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def call(function: Callable[..., Any], payload: dict[str, Any]) -> Any:
    """Call ``schedule(processing_times, due_dates)`` on copies of the payload."""
    return function(list(payload["processing_times"]), list(payload["due_dates"]))
