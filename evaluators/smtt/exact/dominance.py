"""A simple job dominance for 1||ΣwjTj, used to prune the CP-SAT model.

Job ``i`` *dominates* job ``j`` when ``p_i ≤ p_j``, ``d_i ≤ d_j`` and
``w_i ≥ w_j`` (``w ≡ 1`` unweighted); among identical jobs the lower index
dominates. Some optimal schedule runs every dominating job before the jobs it
dominates:

* swapping an out-of-order pair (``j`` before ``i``, ``i`` dominates ``j``) never
  increases the cost — ``i`` moves earlier, the jobs between them finish no
  later (``p_i ≤ p_j``), and ``j`` finishing at ``i``'s old completion time ``C``
  gains at most what ``i`` loses by leaving ``C``: over any interval the
  tardiness of a job grows more the earlier its due date, ``d_i ≤ d_j``, and
  ``w_i ≥ w_j``;
* the relation is a strict partial order (componentwise on ``(p, d, −w)`` with
  an index tie-break) and each such swap removes at least one inversion against
  a linear extension of it, so repeated swaps end in a schedule that respects
  every pair at once, at no greater cost.

:func:`repair_order` performs those swaps, so a heuristic order can be made
consistent with the precedences before it is used as a solver hint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluators.smtt.instance import SmttInstance


def dominance_matrix(instance: SmttInstance) -> np.ndarray:
    """``D[i, j]`` is True when job ``i`` dominates job ``j`` (see module docstring)."""
    p, d, w = instance.p, instance.d, instance.w
    weakly = (
        (p[:, None] <= p[None, :]) & (d[:, None] <= d[None, :]) & (w[:, None] >= w[None, :])
    )
    identical = (p[:, None] == p[None, :]) & (d[:, None] == d[None, :]) & (
        w[:, None] == w[None, :]
    )
    index = np.arange(instance.size)
    lower_index = index[:, None] < index[None, :]
    # Strict: weakly better and either different data or the lower index.
    result: np.ndarray = weakly & (~identical | lower_index)
    return result


def covering_pairs(instance: SmttInstance) -> list[tuple[int, int]]:
    """Dominance pairs ``(i, j)`` not implied by transitivity through a third job.

    Precedence is transitive, so these generate every dominance pair while
    keeping the constraint count near ``O(n)`` instead of ``O(n²)``.
    """
    dom = dominance_matrix(instance)
    as_float = dom.astype(np.float64)
    implied = (as_float @ as_float) > 0
    cover = dom & ~implied
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(cover), strict=True)]


def repair_order(instance: SmttInstance, order: Sequence[int]) -> list[int]:
    """Reorder ``order`` to respect every dominance pair without raising its cost.

    Scans positions left to right; while a later job dominates the job at the
    current position, the two are swapped (a cost-non-increasing exchange).
    Later swaps only permute later positions, so a settled position stays valid.

    Returns
    -------
    list[int]
        A permutation in which no job is preceded by a job it dominates.
    """
    dom = dominance_matrix(instance)
    out = np.asarray(order, dtype=np.int64).copy()
    for a in range(out.shape[0] - 1):
        while True:
            later = out[a + 1 :]
            hits = np.flatnonzero(dom[later, out[a]])
            if hits.size == 0:
                break
            b = a + 1 + int(hits[0])
            out[a], out[b] = out[b], out[a]
    return [int(j) for j in out]
