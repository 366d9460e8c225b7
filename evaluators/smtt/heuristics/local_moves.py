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
    """Move each job to its best position if that strictly helps, in place."""
    improved = False
    for job in list(seq):
        i = seq.index(job)
        rest = np.asarray(seq[:i] + seq[i + 1 :], dtype=np.int64)
        pr, dr, wr = p[rest], d[rest], w[rest]
        done = np.cumsum(pr)
        px = int(p[job])
        # cost[j]: ``job`` inserted before rest[j] (j = len(rest): at the end).
        stay = np.concatenate(([0], np.cumsum(wr * np.maximum(done - dr, 0))))
        pushed = wr * np.maximum(done + px - dr, 0)
        after = np.concatenate((np.cumsum(pushed[::-1])[::-1], [0]))
        starts = np.concatenate(([0], done))
        cost = stay + w[job] * np.maximum(starts + px - d[job], 0) + after
        j = int(np.argmin(cost))
        if cost[j] < cost[i]:
            seq.pop(i)
            seq.insert(j, job)
            improved = True
    return improved
