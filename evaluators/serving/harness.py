"""Trusted glue run inside the sandbox child for serving candidates.

The candidate is a ``priority(request, state)`` function; the simulator runs next
to it, in the same child, and the raw output is its decision log — the requests
picked at each decision, behind a five-number header. Nothing here is trusted on
the way back: the parent replays the log through the same simulator
(:func:`evaluators.serving.replay.validate_log`) and computes every metric itself.
Only the self-contained engine (standard library only) is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaluators.serving.engine import decision_log, simulate


def call(function: Callable[..., Any], payload: dict[str, Any]) -> list[int]:
    """Simulate ``payload`` (:meth:`ServingInstance.payload`) with ``function`` as the policy."""
    return decision_log(simulate(payload, function))
