"""Storage for the memoised decomposition: job sets, their start times, values.

Every subproblem set met by the decomposition is "EDD positions ``lo..hi`` with
processing-time rank ≤ ``max_rank``" (see :mod:`.decomposition`); with ``lo``
and ``hi`` the first and last member and ``max_rank`` the largest member rank,
the triple is canonical, so a set is stored once under :func:`pack_key`.

A set is met at many start times. Its *states* — the start times at which its
optimum is needed — are stored contiguously and sorted, ``state_t[off:off+cnt]``,
so the value of ``(set, t)`` is found by binary search (:func:`state_index`).
Children of a set are encoded as one integer (:func:`child_code`): a set id
(≥ 0), ``EMPTY`` for no job, or ``-2 - e`` for the single job at EDD position
``e`` — sets of size 0 and 1 are never stored.

The arrays grow by doubling (:func:`grow`) inside compiled code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = -1
"""Child code of an empty set."""

KEY_BITS = 21
"""Bits per field of a packed key: instances up to 2**21 jobs."""

_GOLDEN = 0x9E3779B97F4A7C15 - 2**64


@njit(cache=True)
def pack_key(lo: int, hi: int, max_rank: int) -> int:
    """One int64 for the canonical triple of a set."""
    return (lo << (2 * KEY_BITS)) | (hi << KEY_BITS) | max_rank


@njit(cache=True)
def grow(arr: np.ndarray, need: int) -> np.ndarray:
    """``arr`` itself if it holds ``need`` items, else a copy with doubled capacity."""
    if need <= arr.shape[0]:
        return arr
    cap = 2 * arr.shape[0]
    if cap < need:
        cap = need
    out = np.empty(cap, dtype=arr.dtype)
    # Explicit loops: numba compiles them far faster than slice assignment.
    for i in range(arr.shape[0]):
        out[i] = arr[i]
    return out


@njit(cache=True)
def single_job_code(e: int) -> int:
    """Child code of the set holding only EDD position ``e``."""
    return -2 - e


@njit(cache=True)
def state_index(state_t: np.ndarray, off: int, cnt: int, t: int) -> int:
    """Index of start time ``t`` in the sorted segment ``state_t[off:off+cnt]``, or -1."""
    lo = off
    hi = off + cnt
    while lo < hi:
        mid = (lo + hi) >> 1
        if state_t[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    if lo < off + cnt and state_t[lo] == t:
        return lo
    return -1


@njit(cache=True)
def new_table(capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """An empty open-addressing hash table (non-negative int64 keys → int64)."""
    cap = 16
    while cap < 2 * capacity:
        cap *= 2
    return np.full(cap, -1, dtype=np.int64), np.empty(cap, dtype=np.int64)


@njit(cache=True)
def _slot(keys: np.ndarray, key: int) -> int:
    mask = keys.shape[0] - 1
    # Fibonacci hashing (multiplier 0x9E3779B97F4A7C15 as a wrapping signed
    # int64) spreads the packed (lo, hi, rank) bits over the table.
    h = ((key * _GOLDEN) >> 17) & mask
    while keys[h] != -1 and keys[h] != key:
        h = (h + 1) & mask
    return h


@njit(cache=True)
def table_get(keys: np.ndarray, vals: np.ndarray, key: int) -> int:
    """Value stored under ``key``, or -1."""
    h = _slot(keys, key)
    return vals[h] if keys[h] == key else -1


@njit(cache=True)
def table_put(keys: np.ndarray, vals: np.ndarray, used: int, key: int,
              val: int) -> tuple[np.ndarray, np.ndarray]:
    """Store a new ``key`` (``used`` keys already stored); may return a larger table."""
    if 2 * (used + 1) > keys.shape[0]:
        bigger_keys = np.full(2 * keys.shape[0], -1, dtype=np.int64)
        bigger_vals = np.empty(2 * keys.shape[0], dtype=np.int64)
        for i in range(keys.shape[0]):
            if keys[i] != -1:
                h = _slot(bigger_keys, keys[i])
                bigger_keys[h] = keys[i]
                bigger_vals[h] = vals[i]
        keys = bigger_keys
        vals = bigger_vals
    h = _slot(keys, key)
    keys[h] = key
    vals[h] = val
    return keys, vals


@njit(cache=True)
def grow_rows(arr: np.ndarray, need: int) -> np.ndarray:
    """2-D version of :func:`grow`: at least ``need`` rows."""
    if need <= arr.shape[0]:
        return arr
    cap = 2 * arr.shape[0]
    if cap < need:
        cap = need
    out = np.empty((cap, arr.shape[1]), dtype=arr.dtype)
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            out[i, j] = arr[i, j]
    return out


@njit(cache=True)
def queue_push(req: np.ndarray, nreq: int, blocks: np.ndarray, nblocks: int,
               heads: np.ndarray, size: int, code: int, times: np.ndarray, first: int,
               last: int, shift: int) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Queue set ``code`` (``size`` jobs) at start times ``times[first:last] + shift``.

    Requests are rows ``(set, time)`` of ``req``; each push is one block
    ``(start, length, next block)`` of ``blocks``, linked per set size from
    ``heads[size]``. Returns ``(req, nreq, blocks, nblocks)``.
    """
    m = last - first
    req = grow_rows(req, nreq + m)
    for i in range(m):
        req[nreq + i, 0] = code
        req[nreq + i, 1] = times[first + i] + shift
    blocks = grow_rows(blocks, nblocks + 1)
    blocks[nblocks, 0] = nreq
    blocks[nblocks, 1] = m
    blocks[nblocks, 2] = heads[size]
    heads[size] = nblocks
    return req, nreq + m, blocks, nblocks + 1


@njit(cache=True)
def queue_take(req: np.ndarray, blocks: np.ndarray, heads: np.ndarray,
               size: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove and return every queued ``(sets, times)`` of one set size."""
    total = 0
    b = heads[size]
    while b != -1:
        total += blocks[b, 1]
        b = blocks[b, 2]
    sids = np.empty(total, dtype=np.int64)
    times = np.empty(total, dtype=np.int64)
    k = 0
    b = heads[size]
    while b != -1:
        start = blocks[b, 0]
        for i in range(blocks[b, 1]):
            sids[k] = req[start + i, 0]
            times[k] = req[start + i, 1]
            k += 1
        b = blocks[b, 2]
    heads[size] = -1
    return sids, times


@njit(cache=True)
def queue_compact(req: np.ndarray, blocks: np.ndarray, heads: np.ndarray, below: int
                  ) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Copy the requests still queued (sizes < ``below``) into fresh, dense arrays.

    Returns ``(req, nreq, blocks, nblocks)``.
    """
    live = 0
    nb = 0
    for size in range(below):
        b = heads[size]
        while b != -1:
            live += blocks[b, 1]
            nb += 1
            b = blocks[b, 2]
    new_req = np.empty((max(16, 2 * live), 2), dtype=np.int64)
    new_blocks = np.empty((max(16, 2 * nb), 3), dtype=np.int64)
    nreq = 0
    nblocks = 0
    for size in range(below):
        b = heads[size]
        heads[size] = -1
        while b != -1:
            start = blocks[b, 0]
            m = blocks[b, 1]
            for i in range(m):
                new_req[nreq + i, 0] = req[start + i, 0]
                new_req[nreq + i, 1] = req[start + i, 1]
            new_blocks[nblocks, 0] = nreq
            new_blocks[nblocks, 1] = m
            new_blocks[nblocks, 2] = heads[size]
            heads[size] = nblocks
            nreq += m
            nblocks += 1
            b = blocks[b, 2]
    return new_req, nreq, new_blocks, nblocks


@njit(cache=True)
def radix_sort(keys: np.ndarray) -> np.ndarray:
    """Sorted copy of non-negative int64 ``keys`` (LSD radix sort, 11-bit digits).

    Written out because numba's ``np.sort`` costs seconds of compile time.
    """
    n = keys.shape[0]
    out = keys.copy()
    if n < 2:
        return out
    top = out.max()
    buf = np.empty(n, dtype=np.int64)
    count = np.empty(2049, dtype=np.int64)
    shift = 0
    while (top >> shift) > 0:
        for i in range(2049):
            count[i] = 0
        for i in range(n):
            count[((out[i] >> shift) & 2047) + 1] += 1
        for i in range(2048):
            count[i + 1] += count[i]
        for i in range(n):
            digit = (out[i] >> shift) & 2047
            buf[count[digit]] = out[i]
            count[digit] += 1
        out, buf = buf, out
        shift += 11
    return out
