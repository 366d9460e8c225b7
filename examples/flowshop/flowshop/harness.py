"""Trusted glue run inside the sandbox child for flow-shop candidates.

Dependency-free: the candidate gets a fresh job-major copy of the processing
times; its output goes back unchanged and is validated on the trusted side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def call(function: Callable[..., Any], payload: dict[str, Any]) -> Any:
    """Call ``schedule(processing_times)`` with ``processing_times[j][i]`` (job-major)."""
    return function([list(row) for row in payload["processing_times"]])
