"""Export contract of the flow shop: call adapter, standalone makespan, self-check samples."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluators.base import GeneratorSpec
from evaluators.contract import ExportContract

CALL_SOURCE = '''\
def _discover_call(function, payload):
    """Call the heuristic on a fresh job-major copy of the times (as discover's harness does)."""
    return function([list(row) for row in payload["processing_times"]])
'''

OBJECTIVE_SOURCE = '''\
def _discover_objective(payload, output):
    """Makespan of the job permutation ``output``; raises ValueError if it is not one."""
    import operator

    p = payload["processing_times"]
    n = len(p)
    try:
        order = [operator.index(j) for j in output]
    except TypeError as exc:
        raise ValueError(f"the order must contain integer job indices: {exc}") from None
    if sorted(order) != list(range(n)):
        raise ValueError(f"the order is not a permutation of range({n}): {order}")
    m = len(p[0]) if n else 0
    c = [0] * m
    for j in order:
        t = 0
        for i in range(m):
            t = max(t, c[i]) + p[j][i]
            c[i] = t
    return float(c[-1] if m else 0)
'''


def samples(problem: Any) -> list[Any]:
    """Three small shops from the problem's own generator (fixed seed)."""
    rng = np.random.default_rng(20251207)
    return list(problem.generate(GeneratorSpec(n=8, count=3, params={"machines": 4}), rng))


CONTRACT = ExportContract(
    problem="flowshop",
    title="permutation flow shop (Fm|prmu|Cmax)",
    objective_label="makespan",
    call_source=CALL_SOURCE,
    objective_source=OBJECTIVE_SOURCE,
    samples=samples,
)
