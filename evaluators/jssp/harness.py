"""Trusted glue run inside the sandbox child for job-shop candidates.

The candidate is a ``priority(...)`` function; the Giffler–Thompson builder
runs next to it, in the same child, and the raw output is the flat list of
start times it produced. Nothing here is trusted on the way back: the parent
re-validates every start time (:func:`evaluators.jssp.objective.validate_schedule`).
Only the standard-library builder is imported, to keep the child light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaluators.jssp.builder import NON_DELAY, build


def call(function: Callable[..., Any], payload: dict[str, Any]) -> list[int]:
    """Build a schedule of ``payload`` with ``function`` as the priority rule.

    ``payload`` is :meth:`evaluators.jssp.problem.JsspProblem.payload`:
    ``machines``, ``durations`` (lists of lists) and ``variant``.
    """
    return build(payload["machines"], payload["durations"], function,
                 str(payload.get("variant", NON_DELAY)))
