"""Bounds for 1||ΣTj: a pairing lower bound and an MDD + local-search upper bound.

The solver proves optimality by exhausting the decomposition, so bounds serve
two roles only: an instance whose lower and upper bounds meet is finished at
once, and a search stopped by its time limit still returns a valid bracket.

Lower bound (pairing). In any sequence the k-th smallest completion time is at
least the k-th SPT completion time ``C_(k)``; and for a convex non-decreasing
``f`` the sum ``Σ f(C_i − d_i)`` over a matching of completions to due dates is
smallest when both are sorted the same way. So

    ΣT ≥ Σ_k max(0, t + C_(k) − d_(k)),  d_(1) ≤ … ≤ d_(n)  sorted.

Upper bound. MDD (append the job with the smallest ``max(t + p, d)``, ties to
the lower index) followed by first-improvement local search over adjacent
swaps and insertions within a window, until no move improves.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INSERT_WINDOW = 24
"""How far the insertion moves of :func:`improve` shift a job."""


def pairing_lower_bound(p: np.ndarray, d: np.ndarray, start: int = 0) -> int:
    """The pairing lower bound of the module docstring for jobs starting at ``start``."""
    completion = start + np.cumsum(np.sort(np.asarray(p, dtype=np.int64)))
    late = completion - np.sort(np.asarray(d, dtype=np.int64))
    return int(np.maximum(late, 0).sum())


@njit(cache=True)
def mdd_order(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Modified-due-date order: at time ``t`` the job with least ``max(t+p, d)``."""
    n = p.shape[0]
    done = np.zeros(n, dtype=np.bool_)
    order = np.empty(n, dtype=np.int64)
    t = 0
    for pos in range(n):
        best = -1
        best_key = 0
        for j in range(n):
            if done[j]:
                continue
            key = max(t + p[j], d[j])
            if best < 0 or key < best_key:
                best = j
                best_key = key
        done[best] = True
        order[pos] = best
        t += p[best]
    return order


@njit(cache=True)
def sequence_cost(p: np.ndarray, d: np.ndarray, order: np.ndarray) -> int:
    """Total tardiness of ``order`` starting at time 0."""
    t = 0
    cost = 0
    for j in order:
        t += p[j]
        if t > d[j]:
            cost += t - d[j]
    return cost


@njit(cache=True)
def _late(t: int, due: int) -> int:
    return t - due if t > due else 0


@njit(cache=True)
def _move_gain(p: np.ndarray, d: np.ndarray, order: np.ndarray, start: np.ndarray, i: int,
               j: int) -> int:
    """Cost decrease of moving the job at position ``i`` to position ``j``.

    ``start[k]`` is the start time of position ``k``; only positions between
    ``i`` and ``j`` change completion time.
    """
    job = order[i]
    pj = p[job]
    gain = _late(start[i + 1], d[job])
    if j < i:
        gain -= _late(start[j] + pj, d[job])
        for k in range(j, i):
            other = order[k]
            gain += _late(start[k + 1], d[other]) - _late(start[k + 1] + pj, d[other])
    else:
        gain -= _late(start[j + 1], d[job])
        for k in range(i + 1, j + 1):
            other = order[k]
            gain += _late(start[k + 1], d[other]) - _late(start[k + 1] - pj, d[other])
    return gain


@njit(cache=True)
def improve(p: np.ndarray, d: np.ndarray, order: np.ndarray, window: int) -> np.ndarray:
    """Local search: move a job up to ``window`` places while that lowers the cost.

    Only the jobs between the old and new position change completion time, so
    each move is priced on that segment alone (:func:`_move_gain`).
    """
    n = order.shape[0]
    order = order.copy()
    start = np.empty(n + 1, dtype=np.int64)
    start[0] = 0
    for k in range(n):
        start[k + 1] = start[k] + p[order[k]]
    improved = True
    while improved:
        improved = False
        for i in range(n):
            for j in range(max(0, i - window), min(n, i + window + 1)):
                if j == i or _move_gain(p, d, order, start, i, j) <= 0:
                    continue
                job = order[i]
                if j < i:
                    for k in range(i, j, -1):
                        order[k] = order[k - 1]
                else:
                    for k in range(i, j):
                        order[k] = order[k + 1]
                order[j] = job
                for k in range(min(i, j), max(i, j) + 1):
                    start[k + 1] = start[k] + p[order[k]]
                improved = True
                break
    return order


def upper_bound(p: np.ndarray, d: np.ndarray) -> tuple[int, np.ndarray]:
    """MDD improved by :func:`improve`: ``(cost, order)``, never worse than MDD."""
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    order = improve(p, d, mdd_order(p, d), INSERT_WINDOW)
    return int(sequence_cost(p, d, order)), order
