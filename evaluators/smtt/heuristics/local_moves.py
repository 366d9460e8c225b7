"""Local search for 1||Σ(w)T: adjacent interchange and insertion, to a local optimum.

Each round runs one pass of adjacent interchanges (first improvement, left to
right) and then one pass of insertions (every job, in the order the round
found them, moved to its best position if that strictly lowers the cost).
Rounds repeat until neither pass improves. Only strict improvements are
applied and the cost is an integer, so the search terminates and never
returns a worse order than its start.

An insertion pass evaluates all ``n`` target positions of a job at once in
O(n) numpy work, from prefix sums of the tardiness of the other jobs at their
current completion times and suffix sums at completion times shifted by the
job's processing time; a pass costs O(n²).

Standard library and numpy only: copied verbatim into exported modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def local_search_order(
    order: Sequence[int],
    p: Sequence[int],
    d: Sequence[int],
    w: Sequence[int] | None = None,
) -> list[int]:
    """Improve ``order`` by adjacent interchanges and insertions until neither helps.

    Parameters
    ----------
    order
        Starting job order (a permutation of ``0..n−1``).
    p, d
        Processing times and due dates.
    w
        Weights, or ``None`` for unit weights; the search minimises Σ w·T.

    Returns
    -------
    list[int]
        A locally optimal order no worse than ``order``.
    """
    pl = [int(x) for x in p]
    dl = [int(x) for x in d]
    wl = [1] * len(pl) if w is None else [int(x) for x in w]
    pa = np.asarray(pl, dtype=np.int64)
    da = np.asarray(dl, dtype=np.int64)
    wa = np.asarray(wl, dtype=np.int64)
    seq = [int(j) for j in order]
    improved = True
    while improved:
        improved = _interchange_pass(seq, pl, dl, wl)
        improved = _insertion_pass(seq, pa, da, wa) or improved
    return seq


def _interchange_pass(seq: list[int], p: list[int], d: list[int], w: list[int]) -> bool:
    """One left-to-right pass of improving adjacent swaps, in place."""
    improved = False
    start = 0  # completion time of the job before position i
    for i in range(len(seq) - 1):
        a, b = seq[i], seq[i + 1]
        end = start + p[a] + p[b]
        now = w[a] * max(start + p[a] - d[a], 0) + w[b] * max(end - d[b], 0)
        swapped = w[b] * max(start + p[b] - d[b], 0) + w[a] * max(end - d[a], 0)
        if swapped < now:
            seq[i], seq[i + 1] = b, a
            improved = True
        start += p[seq[i]]
    return improved


def _insertion_pass(
    seq: list[int], p: np.ndarray, d: np.ndarray, w: np.ndarray
) -> bool:
    """Move each job to its best position if that strictly helps, in place.

    For the job at position ``i`` (completion times ``C``, costs ``T``):
    inserted at ``j < i`` it finishes at ``C[j−1] + p_x`` and pushes jobs
    ``j..i−1`` back by ``p_x``; inserted at ``j > i`` it finishes at ``C[j]``
    and pulls jobs ``i+1..j`` forward by ``p_x``. Both families are prefix or
    suffix sums over the current sequence, so all targets cost O(n) together.
    The smallest cost wins, ties to the smallest final position.
    """
    improved = False
    n = len(seq)
    stale = True
    for job in list(seq):
        if stale:
            s = np.asarray(seq, dtype=np.int64)
            ps, ds, ws = p[s], d[s], w[s]
            done = np.cumsum(ps)
            cost = ws * np.maximum(done - ds, 0)
            before = np.concatenate(([0], np.cumsum(cost)))  # before[j] = Σ_{r<j}
            total = int(before[-1])
            stale = False
        i = seq.index(job)
        px = int(ps[i])
        best, target = total, i
        # With p_x > 0, moving x earlier only helps a tardy x, and moving it
        # later only helps if a later job is tardy.
        if i > 0 and (px <= 0 or cost[i] > 0):
            pushed = ws[:i] * np.maximum(done[:i] + px - ds[:i], 0)
            pushed_from = np.cumsum(pushed[::-1])[::-1]  # Σ_{r=j}^{i−1}
            start = np.concatenate(([0], done[: i - 1]))
            left = (before[:i] + ws[i] * np.maximum(start + px - ds[i], 0) + pushed_from
                    + (total - before[i + 1]))
            j = int(np.argmin(left))
            if left[j] < best:
                best, target = int(left[j]), j
        if i < n - 1 and (px <= 0 or total > before[i + 1]):
            pulled = np.cumsum(ws[i + 1 :] * np.maximum(done[i + 1 :] - px - ds[i + 1 :], 0))
            right = (before[i] + pulled + ws[i] * np.maximum(done[i + 1 :] - ds[i], 0)
                     + (total - before[i + 2 :]))
            j = int(np.argmin(right))
            # ``<`` keeps an equally good earlier (left) target.
            if right[j] < best:
                best, target = int(right[j]), i + 1 + j
        if target != i:
            seq.pop(i)
            seq.insert(target, job)
            improved = True
            stale = True
    return improved
