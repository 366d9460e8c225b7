"""A quick start order used to hint the MIP and CP-SAT solvers.

The classic heuristics live in :mod:`evaluators.smtt.heuristics`; this module
keeps the exact solvers independent of them (and of their tie-breaking
choices) with one small greedy rule:

* unweighted: modified due date (MDD; Baker & Bertrand 1982) — at time ``t``
  schedule the job minimising ``max(t + p_j, d_j)``;
* weighted: weighted MDD (Kanet & Li 2004) — minimise ``max(p_j, d_j − t) / w_j``.

Ties go to the shorter job, then the lower index, so the result is
deterministic. Any permutation is a valid hint; a good one gives the solvers an
incumbent from the first second, which matters when a time limit stops them.
"""

from __future__ import annotations

import numpy as np

from evaluators.smtt.instance import SmttInstance


def greedy_start(instance: SmttInstance) -> list[int]:
    """MDD (unweighted) or weighted-MDD order of ``instance``'s jobs.

    Parameters
    ----------
    instance
        Any instance.

    Returns
    -------
    list[int]
        A permutation of ``0..n-1``.
    """
    p = instance.p.astype(np.float64)
    d = instance.d.astype(np.float64)
    w = instance.w.astype(np.float64)
    remaining = np.ones(instance.size, dtype=bool)
    order: list[int] = []
    t = 0.0
    for _ in range(instance.size):
        key = np.maximum(p, d - t) / w if instance.is_weighted else np.maximum(t + p, d)
        # lexsort: last key is primary; masked-out jobs get +inf.
        key = np.where(remaining, key, np.inf)
        j = int(np.lexsort((np.arange(instance.size), p, key))[0])
        order.append(j)
        remaining[j] = False
        t += p[j]
    return order
