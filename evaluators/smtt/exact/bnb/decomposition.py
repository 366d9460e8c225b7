"""Lawler's decomposition of 1||ΣTj on a longest job, in a tie-robust form.

A *subproblem* ``(S, t)`` is a job set ``S`` whose machine becomes free at time
``t``; ``F(S, t)`` is its minimum total tardiness. Jobs are numbered once,
globally, in EDD order (due date, then processing time, then index): *EDD
position* ``e``. Processing times get a strict *rank* (processing time, then
EDD position), so "the longest job" of a set is unique: its highest rank.

Theorem (Lawler 1977, restated so that ties in ``p`` or ``d`` need no care).
Let ``k`` be a longest job of ``S``. Some optimal sequence of ``(S, t)`` runs
exactly the jobs ``{j ≠ k : d_j ≤ M}`` before ``k``, where ``M = max(d_k, C_k)``
and ``C_k`` is the completion time of ``k``.

Proof. Take an optimal sequence in which ``C_k`` is as large as possible.
(i) No job ``j`` after ``k`` has ``d_j ≤ M``: swapping ``j`` and ``k`` (with
``p_j ≤ p_k``) costs nothing more (Emmons' exchange: the jobs between finish no
later, and ``j``'s gain covers ``k``'s loss because ``d_j ≤ max(d_k, C_k)``),
and it would make ``k`` finish later. (ii) While some job ``j`` before ``k`` has
``d_j > M``, move it to just after ``k``: it finishes at the old ``C_k < d_j``,
still on time, and every job in between finishes earlier. ``M`` does not grow,
so (i) still holds, and each move shortens the prefix, so this ends. ∎

With the jobs of ``S`` in EDD order ``s_0, …, s_{L-1}`` and ``k = s_κ``, the
jobs before ``k`` are then a prefix ``s_0..s_r`` minus ``k`` for some ``r ≥ κ``,
``C_k = t + p(s_0..s_r)``, and (conditions on ``r``)

(a) ``r = L−1`` or ``d_{s_{r+1}} > max(d_k, C_k)`` — nothing due by ``M`` follows;
(b) ``r = κ`` or ``d_{s_r} ≤ max(d_k, C_k)`` — nothing due after ``M`` precedes.

So ``F(S, t) = min_r F(B_r, t) + max(0, C_k − d_k) + F(A_r, C_k)`` over the
positions ``r`` satisfying (a) and (b), with ``B_r = {s_0..s_r} ∖ {k}`` and
``A_r = {s_{r+1}..s_{L-1}}``. Both sides are again of the form "EDD positions
in an interval whose rank is below a threshold", the representation used by
:mod:`.memo`. Every position yields a feasible schedule, so the rules only
remove positions, never add wrong values.

Two closed forms end the recursion early:

* ``F(S, t) = 0`` iff EDD meets every due date, i.e. ``t ≤ min_j (d_j − C_j^EDD)``
  (EDD minimises the maximum lateness);
* ``F(S, t) = Σ_j (t + C_j^SPT − d_j)`` when ``t ≥ max_j (d_j − C_j^SPT)`` for SPT
  with due-date ties: every job is then tardy (or just on time) in SPT, which
  meets the lower bound ``Σ C_j − Σ d_j ≥ Σ C_j^SPT − Σ d_j`` of any sequence.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evaluators.smtt.instance import SmttInstance


def edd_ranks(
    instance: SmttInstance,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Global EDD numbering and processing-time ranks of an instance.

    Returns
    -------
    edd
        ``edd[e]`` is the job at EDD position ``e`` (due date, then processing
        time, then index).
    p_edd, d_edd
        Processing times and due dates in EDD order (int64).
    rank_edd
        ``rank_edd[e]`` is the strict processing-time rank (0 = shortest) of the
        job at EDD position ``e``; ties in ``p`` go to the lower EDD position.
    by_rank
        Inverse of ``rank_edd``: the EDD position holding each rank.
    """
    p = np.asarray(instance.p, dtype=np.int64)
    d = np.asarray(instance.d, dtype=np.int64)
    n = p.shape[0]
    edd = np.lexsort((np.arange(n), p, d))
    p_edd = p[edd]
    d_edd = d[edd]
    by_rank = np.lexsort((np.arange(n), p_edd))
    rank_edd = np.empty(n, dtype=np.int64)
    rank_edd[by_rank] = np.arange(n)
    return edd, p_edd, d_edd, rank_edd, by_rank


@njit(cache=True)
def collect_members(lo: int, hi: int, max_rank: int, rank_edd: np.ndarray,
                    out: np.ndarray) -> int:
    """Write the EDD positions in ``[lo, hi]`` with rank ≤ ``max_rank`` into ``out``.

    Returns the number written; ``out`` is then sorted in EDD order.
    """
    count = 0
    for e in range(lo, hi + 1):
        if rank_edd[e] <= max_rank:
            out[count] = e
            count += 1
    return count


@njit(cache=True)
def set_profile(members: np.ndarray, size: int, p_edd: np.ndarray, d_edd: np.ndarray,
                rank_edd: np.ndarray, by_rank: np.ndarray, pp: np.ndarray, dd: np.ndarray,
                prefix: np.ndarray) -> tuple[int, int, int, int]:
    """Per-set data the recursion needs, computed once per set.

    Fills ``pp``/``dd`` (processing times and due dates of the members in EDD
    order) and ``prefix`` (``prefix[r] = p(s_0..s_r)``). ``by_rank[q]`` is the
    EDD position of rank ``q``.

    Returns
    -------
    tuple
        ``(kappa, zero_until, linear_from, linear_offset)``: the index of the
        longest member; the largest start time with zero tardiness
        (``min_j d_j − C_j^EDD``); the start time from which the SPT closed form
        holds (``max_j d_j − C_j^SPT``); and ``Σ C_j^SPT − Σ d_j`` so that there
        ``F = size·t + linear_offset``.
    """
    kappa = 0
    best_rank = -1
    acc = 0
    zero_until = 2**62
    for i in range(size):
        e = members[i]
        pp[i] = p_edd[e]
        dd[i] = d_edd[e]
        acc += pp[i]
        prefix[i] = acc
        slack = dd[i] - acc
        if slack < zero_until:
            zero_until = slack
        if rank_edd[e] > best_rank:
            best_rank = rank_edd[e]
            kappa = i
    # SPT with due-date ties is increasing rank (ranks break p-ties by EDD
    # position); scanning the global rank order avoids a sort per set.
    lo = members[0]
    hi = members[size - 1]
    acc = 0
    linear_from = -(2**62)
    linear_offset = 0
    for q in range(best_rank + 1):
        e = by_rank[q]
        if e < lo or e > hi:
            continue
        acc += p_edd[e]
        gap = d_edd[e] - acc
        if gap > linear_from:
            linear_from = gap
        linear_offset += acc - d_edd[e]
    return kappa, zero_until, linear_from, linear_offset


@njit(cache=True)
def position_window(r: int, kappa: int, size: int, dd: np.ndarray, prefix: np.ndarray,
                    zero_until: int, linear_from: int) -> tuple[int, int]:
    """Start times ``t`` for which position ``r`` must be searched: ``[lo, hi)``.

    ``k = s_κ`` after ``s_0..s_r`` completes at ``t + prefix[r]``; condition (a)
    needs ``d_{s_{r+1}} > d_k`` and ``t < d_{s_{r+1}} − prefix[r]``, condition (b)
    needs ``d_{s_r} ≤ d_k`` or ``t ≥ d_{s_r} − prefix[r]``. Start times covered by
    a closed form (``t ≤ zero_until`` or ``t ≥ linear_from``) are left out. An
    empty window has ``lo ≥ hi``.
    """
    lo = zero_until + 1
    hi = linear_from
    dk = dd[kappa]
    if r + 1 < size:
        if dd[r + 1] <= dk:
            return 0, 0
        cap = dd[r + 1] - prefix[r]
        if cap < hi:
            hi = cap
    if r > kappa and dd[r] > dk:
        floor = dd[r] - prefix[r]
        if floor > lo:
            lo = floor
    return lo, hi
