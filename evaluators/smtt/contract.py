"""Export contract of SMTT: call adapter, standalone objective, self-check samples."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluators.base import GeneratorSpec
from evaluators.contract import ExportContract

_SMTT_CALL = '''\
def _discover_call(function, payload):
    """Call the heuristic on fresh copies of the instance data (as discover's harness does)."""
    return function(list(payload["processing_times"]), list(payload["due_dates"]))
'''

_SMTT_OBJECTIVE = '''\
def _discover_objective(payload, output):
    """Total tardiness of the job order ``output``; raises ValueError if it is not one."""
    import operator

    p = payload["processing_times"]
    d = payload["due_dates"]
    n = len(p)
    try:
        order = [operator.index(j) for j in output]  # rejects floats such as 3.0
    except TypeError as exc:
        raise ValueError(f"the order must contain integer job indices: {exc}") from None
    if sorted(order) != list(range(n)):
        raise ValueError(f"the order is not a permutation of range({n}): {order}")
    t = 0
    total = 0
    for j in order:
        t += p[j]
        total += max(0, t - d[j])
    return float(total)
'''


def _smtt_samples(problem: Any) -> list[Any]:
    # Fixed seed and classes with real tardiness, so the expected objectives are
    # non-zero and sensitive to the order.
    rng = np.random.default_rng(20251125)
    instances = []
    for rdd, tf in ((0.2, 0.6), (0.6, 0.4), (1.0, 0.8)):
        spec = GeneratorSpec(n=12, count=1, params={"rdd": rdd, "tf": tf})
        instances.extend(problem.generate(spec, rng))
    return instances


CONTRACT = ExportContract(
    problem="smtt",
    title="single-machine total tardiness (1||ΣTj)",
    objective_label="total tardiness",
    call_source=_SMTT_CALL,
    objective_source=_SMTT_OBJECTIVE,
    samples=_smtt_samples,
)
