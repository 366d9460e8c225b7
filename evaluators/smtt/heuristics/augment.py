"""Bean & Hall (1985) augmentation of a constructive rule.

After each job is appended to the partial sequence, every job already in it
is tried at the end of the partial sequence, and the single best move that
strictly lowers the partial (weighted) tardiness is kept.

For rules whose choice depends only on the current time and the set of
unscheduled jobs — MDD, MDDC, PSK, ATC and the other dispatching rules here —
such a move changes neither, so the augmented heuristic appends jobs in the
base rule's order. The augmentation is therefore a post-processing of the
base order, :func:`augment_order`, applied prefix by prefix.

Standard library and numpy only: copied verbatim into exported modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def augment_order(
    order: Sequence[int],
    p: Sequence[int],
    d: Sequence[int],
    w: Sequence[int] | None = None,
) -> list[int]:
    """Apply Bean & Hall's move-to-end augmentation along ``order``.

    Jobs are appended in the order given. After each append, moving the job
    at position ``m`` of the partial sequence to its end changes the partial
    cost by

    ``w_m·(max(t − d_m, 0) − T_m) + Σ_{i>m} w_i·(max(L_i − p_m, 0) − T_i)``

    (``t`` the partial makespan, ``L`` current lateness, ``T = max(L, 0)``:
    every later job finishes ``p_m`` earlier). All ``m`` are evaluated at once with integer
    arithmetic; the most negative change is applied, ties to the earliest
    position. Positions whose change provably cannot be negative are pruned
    with an O(k) bound first; the rest cost O(|tardy|) each.

    Parameters
    ----------
    order
        Job order produced by the base rule (a permutation of ``0..n−1``).
    p, d
        Processing times and due dates.
    w
        Weights, or ``None`` for unit weights; moves minimise Σ w·T.

    Returns
    -------
    list[int]
        The augmented job order.
    """
    pa = np.asarray(p, dtype=np.int64)
    da = np.asarray(d, dtype=np.int64)
    wa = np.ones(len(pa), dtype=np.int64) if w is None else np.asarray(w, dtype=np.int64)
    n = len(order)
    seq = np.empty(n, dtype=np.int64)
    k = 0
    t = 0
    for job in order:
        seq[k] = job
        k += 1
        t += int(pa[job])
        if k < 2:
            continue
        cur = seq[:k]
        ps = pa[cur]
        ws = wa[cur]
        ds = da[cur]
        lateness = np.cumsum(ps) - ds
        tard = np.maximum(lateness, 0)
        head = k - 1  # moving the last job to the end is no move
        own = ws[:head] * (np.maximum(t - ds[:head], 0) - tard[:head])
        # Prune with a bound before the O(k·|tardy|) exact evaluation: the later
        # jobs can gain at most min(Σ_{i>m} w_i·T_i, p_m·Σ_{i>m, T_i>0} w_i),
        # and nothing when p_m ≤ 0. Rows that cannot go below zero are skipped.
        after_cost = np.cumsum((ws * tard)[::-1])[::-1][1:]
        after_late_w = np.cumsum(np.where(tard > 0, ws, 0)[::-1])[::-1][1:]
        gain_bound = np.maximum(np.minimum(after_cost, ps[:head] * after_late_w), 0)
        rows = np.flatnonzero(own - gain_bound < 0)
        if rows.size == 0:
            continue
        # Moving job m to the end shifts every later job i by −p_m; only jobs
        # with lateness > min(0, p_m) change cost (the tardy ones when p > 0).
        shift = ps[rows]
        first = int(rows[0]) + 1
        cols = first + np.flatnonzero(lateness[first:] > min(0, int(shift.min())))
        change = own[rows]
        if cols.size:
            lc = lateness[cols]
            delta = (np.maximum(lc[None, :] - shift[:, None], 0) - tard[cols][None, :]) * ws[cols]
            # Only jobs after m move.
            delta[cols[None, :] <= rows[:, None]] = 0
            change = change + delta.sum(axis=1)
        r = int(np.argmin(change))  # first minimum: the earliest position
        if change[r] < 0:
            m = int(rows[r])
            moved = seq[m]
            seq[m : k - 1] = seq[m + 1 : k]
            seq[k - 1] = moved
    return [int(j) for j in seq]
