"""The memoised decomposition search, batched by job set (compiled with numba).

Memoising Lawler's recursion on ``(set, start time)`` (Branch & Memorize in
spirit) meets few distinct *sets* but each at many start times. The search is
therefore organised by set, in two sweeps over set sizes:

1. :func:`expand`, largest sets first. A set's start times are all known once
   every larger set has been expanded (children are strict subsets), so each
   set is visited once: its members, closed-form limits and the window of start
   times of every decomposition position (:func:`.decomposition.position_window`)
   are computed once, and each position requests its two children at the
   start times in its window.
2. :func:`evaluate`, smallest sets first: each state's value is the closed form
   or the minimum over the positions whose window holds its start time, from
   children already evaluated; the winning position is kept for rebuilding the
   sequence.

Both sweeps check the clock through ``objmode`` every few hundred sets and stop
with :data:`TIMED_OUT`; :data:`TOO_MANY_STATES` stops a search whose state
table outgrows ``max_states``.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, objmode

from evaluators.smtt.exact.bnb.decomposition import (
    collect_members,
    position_window,
    set_profile,
)
from evaluators.smtt.exact.bnb.memo import (
    EMPTY,
    grow,
    grow_rows,
    new_table,
    pack_key,
    queue_compact,
    queue_push,
    queue_take,
    radix_sort,
    single_job_code,
    state_index,
    table_get,
    table_put,
)

DONE = 0
TIMED_OUT = 1
TOO_MANY_STATES = 2

ZERO_FORM = -1
"""Choice code: EDD order, no tardiness."""
LINEAR_FORM = -2
"""Choice code: SPT order, every job tardy."""

_CHECK_EVERY = 256

# Columns of the set table.
LO, HI, MAX_RANK, SIZE, STATE_OFF, STATE_CNT, CAND_OFF, CAND_CNT, NEXT = range(9)


@njit(cache=True)
def _now() -> float:
    with objmode(now="float64"):
        now = time.perf_counter()
    return now


@njit(cache=True)
def _child(lo: int, hi: int, max_rank: int, size: int, keys: np.ndarray,
           vals: np.ndarray, tab: np.ndarray, nsets: int, heads: np.ndarray
           ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, int]:
    """Code of a child set, adding it to the table if new.

    Returns ``(code, keys, vals, tab, nsets)``.
    """
    if size == 0:
        return EMPTY, keys, vals, tab, nsets
    if size == 1:
        return single_job_code(lo), keys, vals, tab, nsets
    key = pack_key(lo, hi, max_rank)
    sid = table_get(keys, vals, key)
    if sid >= 0:
        return sid, keys, vals, tab, nsets
    sid = nsets
    keys, vals = table_put(keys, vals, nsets, key, sid)
    tab = grow_rows(tab, sid + 1)
    tab[sid, LO] = lo
    tab[sid, HI] = hi
    tab[sid, MAX_RANK] = max_rank
    tab[sid, SIZE] = size
    tab[sid, STATE_OFF] = 0
    tab[sid, STATE_CNT] = 0
    tab[sid, CAND_OFF] = 0
    tab[sid, CAND_CNT] = 0
    tab[sid, NEXT] = heads[size]
    heads[size] = sid
    return sid, keys, vals, tab, nsets + 1


@njit(cache=True)
def expand(p_edd: np.ndarray, d_edd: np.ndarray, rank_edd: np.ndarray, by_rank: np.ndarray,
           t0: int, deadline: float, max_states: int
           ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sweep 1: discover every (set, start time) state the recursion needs.

    Returns
    -------
    tuple
        ``(status, tab, heads, state_t, cand)``. ``tab[sid]`` is a row of the
        set table (columns ``LO … NEXT``); ``heads[size]`` starts the linked
        list of sets of that size; ``state_t`` holds the start times, sorted per
        set; ``cand[c] = (r, child before k, child after k)``.
    """
    n = p_edd.shape[0]
    keys, vals = new_table(1024)
    tab = np.empty((1024, 9), dtype=np.int64)
    heads = np.full(n + 1, -1, dtype=np.int64)
    root, keys, vals, tab, nsets = _child(0, n - 1, n - 1, n, keys, vals, tab, 0, heads)
    req = np.empty((1024, 2), dtype=np.int64)
    blocks = np.empty((1024, 3), dtype=np.int64)
    queued = np.full(n + 1, -1, dtype=np.int64)
    start = np.full(1, t0, dtype=np.int64)
    req, nreq, blocks, nblocks = queue_push(req, 0, blocks, 0, queued, n, root, start, 0, 1, 0)
    state_t = np.empty(1024, dtype=np.int64)
    nstates = 0
    cand = np.empty((1024, 3), dtype=np.int64)
    ncand = 0
    members = np.empty(n, dtype=np.int64)
    pp = np.empty(n, dtype=np.int64)
    dd = np.empty(n, dtype=np.int64)
    prefix = np.empty(n, dtype=np.int64)
    before_max = np.empty(n, dtype=np.int64)
    after_max = np.empty(n + 1, dtype=np.int64)
    visited = 0
    taken = 0
    for size in range(n, 1, -1):
        sids, times = queue_take(req, blocks, queued, size)
        if sids.shape[0] == 0:
            continue
        taken += sids.shape[0]
        state_t = grow(state_t, nstates + sids.shape[0])
        nstates = _settle(sids, times, tab, state_t, nstates)
        if nstates > max_states:
            return TOO_MANY_STATES, tab[:nsets], heads, state_t[:nstates], cand[:ncand]
        if 4 * taken > 3 * nreq and nreq > 2**20:
            # Most of the request buffer is consumed: keep only what is queued.
            req, nreq, blocks, nblocks = queue_compact(req, blocks, queued, size)
            taken = 0
        sid = heads[size]
        while sid != -1:
            visited += 1
            if visited % _CHECK_EVERY == 0 and _now() > deadline:
                return TIMED_OUT, tab[:nsets], heads, state_t[:nstates], cand[:ncand]
            count = collect_members(tab[sid, LO], tab[sid, HI], tab[sid, MAX_RANK], rank_edd,
                                    members)
            kappa, zero_until, linear_from, _ = set_profile(
                members, count, p_edd, d_edd, rank_edd, by_rank, pp, dd, prefix)
            best = -1
            for r in range(count):
                if r != kappa and rank_edd[members[r]] > best:
                    best = rank_edd[members[r]]
                before_max[r] = best
            after_max[count] = -1
            for r in range(count - 1, -1, -1):
                after_max[r] = max(after_max[r + 1], rank_edd[members[r]])
            off = tab[sid, STATE_OFF]
            stop = off + tab[sid, STATE_CNT]
            tab[sid, CAND_OFF] = ncand
            for r in range(kappa, count):
                lo, hi = position_window(r, kappa, count, dd, prefix, zero_until, linear_from)
                if lo >= hi or lo > state_t[stop - 1] or hi <= state_t[off]:
                    continue
                first = state_index_ge(state_t, off, stop - off, lo)
                last = state_index_ge(state_t, first, stop - first, hi)
                if first >= last:
                    continue
                b_lo = members[1] if kappa == 0 else members[0]
                b_hi = members[r - 1] if r == kappa else members[r]
                b_code, keys, vals, tab, nsets = _child(b_lo, b_hi, before_max[r], r, keys,
                                                        vals, tab, nsets, heads)
                a_code = EMPTY
                if r + 1 < count:
                    a_code, keys, vals, tab, nsets = _child(
                        members[r + 1], members[count - 1], after_max[r + 1], count - 1 - r,
                        keys, vals, tab, nsets, heads)
                cand = grow_rows(cand, ncand + 1)
                cand[ncand, 0] = r
                cand[ncand, 1] = b_code
                cand[ncand, 2] = a_code
                ncand += 1
                if b_code >= 0:
                    req, nreq, blocks, nblocks = queue_push(
                        req, nreq, blocks, nblocks, queued, r, b_code, state_t, first, last, 0)
                if a_code >= 0:
                    req, nreq, blocks, nblocks = queue_push(
                        req, nreq, blocks, nblocks, queued, count - 1 - r, a_code, state_t,
                        first, last, prefix[r])
            tab[sid, CAND_CNT] = ncand - tab[sid, CAND_OFF]
            sid = tab[sid, NEXT]
    return DONE, tab[:nsets], heads, state_t[:nstates], cand[:ncand]


@njit(cache=True)
def _settle(sids: np.ndarray, times: np.ndarray, tab: np.ndarray, state_t: np.ndarray,
            nstates: int) -> int:
    """Sort one size's requests by (set, time), drop repeats, append them as states."""
    tmin = times.min()
    span = times.max() - tmin + 1
    # Key = set id · span + time offset: sorting keys sorts by (set, time).
    key = radix_sort(sids * span + (times - tmin))
    prev = -1
    for i in range(key.shape[0]):
        sid = key[i] // span
        t = key[i] % span + tmin
        if sid != prev:
            tab[sid, STATE_OFF] = nstates
            prev = sid
        elif state_t[nstates - 1] == t:
            continue
        state_t[nstates] = t
        tab[sid, STATE_CNT] += 1
        nstates += 1
    return nstates


@njit(cache=True)
def state_index_ge(state_t: np.ndarray, off: int, cnt: int, t: int) -> int:
    """First index in the sorted segment ``state_t[off:off+cnt]`` with value ≥ ``t``."""
    lo = off
    hi = off + cnt
    while lo < hi:
        mid = (lo + hi) >> 1
        if state_t[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _value(code: int, t: int, p_edd: np.ndarray, d_edd: np.ndarray, tab: np.ndarray,
           state_t: np.ndarray, state_v: np.ndarray) -> int:
    if code == EMPTY:
        return 0
    if code < EMPTY:
        e = -2 - code
        late = t + p_edd[e] - d_edd[e]
        return late if late > 0 else 0
    idx = state_index(state_t, tab[code, STATE_OFF], tab[code, STATE_CNT], t)
    if idx < 0:
        raise AssertionError("decomposition state missing from the memo")
    return state_v[idx]


@njit(cache=True)
def evaluate(p_edd: np.ndarray, d_edd: np.ndarray, rank_edd: np.ndarray, by_rank: np.ndarray,
             tab: np.ndarray,
             heads: np.ndarray, state_t: np.ndarray, cand: np.ndarray, deadline: float
             ) -> tuple[int, np.ndarray, np.ndarray]:
    """Sweep 2: optimal value and winning choice of every state, smallest sets first.

    Returns
    -------
    tuple
        ``(status, state_v, state_c)``; ``state_c`` is a candidate index,
        :data:`ZERO_FORM` or :data:`LINEAR_FORM`.
    """
    n = p_edd.shape[0]
    nstates = state_t.shape[0]
    state_v = np.full(nstates, np.int64(2**62), dtype=np.int64)
    state_c = np.full(nstates, -3, dtype=np.int64)
    members = np.empty(n, dtype=np.int64)
    pp = np.empty(n, dtype=np.int64)
    dd = np.empty(n, dtype=np.int64)
    prefix = np.empty(n, dtype=np.int64)
    visited = 0
    for size in range(2, n + 1):
        sid = heads[size]
        while sid != -1:
            visited += 1
            if visited % _CHECK_EVERY == 0 and _now() > deadline:
                return TIMED_OUT, state_v, state_c
            off = tab[sid, STATE_OFF]
            nst = tab[sid, STATE_CNT]
            count = collect_members(tab[sid, LO], tab[sid, HI], tab[sid, MAX_RANK], rank_edd,
                                    members)
            kappa, zero_until, linear_from, linear_offset = set_profile(
                members, count, p_edd, d_edd, rank_edd, by_rank, pp, dd, prefix)
            for j in range(off, off + nst):
                t = state_t[j]
                if t <= zero_until:
                    state_v[j] = 0
                    state_c[j] = ZERO_FORM
                elif t >= linear_from:
                    state_v[j] = count * t + linear_offset
                    state_c[j] = LINEAR_FORM
            dk = dd[kappa]
            for c in range(tab[sid, CAND_OFF], tab[sid, CAND_OFF] + tab[sid, CAND_CNT]):
                r = cand[c, 0]
                lo, hi = position_window(r, kappa, count, dd, prefix, zero_until, linear_from)
                j = state_index_ge(state_t, off, nst, lo)
                while j < off + nst and state_t[j] < hi:
                    t = state_t[j]
                    done = t + prefix[r]
                    val = _value(cand[c, 1], t, p_edd, d_edd, tab, state_t, state_v)
                    if done > dk:
                        val += done - dk
                    if val < state_v[j]:
                        val += _value(cand[c, 2], done, p_edd, d_edd, tab, state_t, state_v)
                        if val < state_v[j]:
                            state_v[j] = val
                            state_c[j] = c
                    j += 1
            sid = tab[sid, NEXT]
    return DONE, state_v, state_c
