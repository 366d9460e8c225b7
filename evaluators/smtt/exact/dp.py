"""Held–Karp subset dynamic programme for 1||ΣTj and 1||ΣwjTj (n ≤ 22).

For a set ``S`` of jobs scheduled first (in some order), the last of them
completes at ``P(S) = Σ_{i∈S} p_i`` whatever the order, so

    f[∅] = 0,
    f[S] = min_{j∈S} f[S∖{j}] + w_j · max(0, P(S) − d_j),

and ``f[all jobs]`` is the optimum. Sets are bit masks (bit ``j`` = job ``j``).

Vectorization: ``f[S]`` depends only on sets with one job fewer, so the masks
are processed in *popcount layers*. Within a layer, for each job ``j`` the
masks containing ``j`` are selected at once and their candidate values
``f[S ^ (1<<j)] + cost`` are formed with numpy gathers; a layer-local running
minimum then gives ``f`` for the whole layer. Work is ``n·2^(n-1)`` gathered
values, about ten million at ``n = 20``.

``P(S)`` and the popcount of every mask come from the bit-doubling recurrence
``X[S | 1<<j] = X[S] + x_j`` for ``S < 2^j``, i.e. ``X = concat(X, X + x_j)``.

The optimal order is rebuilt backwards from the full set: the last job of
``S`` is any ``j`` with ``f[S] = f[S∖{j}] + cost_j(S)``; storing no argmin
table keeps memory at three ``2^n`` arrays (f, P, layer order).
"""

from __future__ import annotations

import functools
import time

import numpy as np

from evaluators.base import Reference, Status
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness

MAX_JOBS = 22
"""Largest n accepted: 2^22 masks use about 100 MB across the DP's arrays."""

METHOD = "dp"


class TooManyJobsError(ValueError):
    """The subset DP was asked to solve an instance larger than :data:`MAX_JOBS`."""


def subset_sums(values: np.ndarray) -> np.ndarray:
    """``out[S] = Σ_{j∈S} values[j]`` for every bit mask ``S`` of ``len(values)`` bits.

    Parameters
    ----------
    values
        One integer per item (bit ``j`` of a mask selects ``values[j]``).

    Returns
    -------
    numpy.ndarray
        int64 array of length ``2**len(values)``.
    """
    values = np.asarray(values, dtype=np.int64)
    out = np.empty(1 << values.shape[0], dtype=np.int64)
    out[0] = 0
    for j, v in enumerate(values):
        # Masks in [2^j, 2^(j+1)) are those below 2^j with bit j added.
        np.add(out[: 1 << j], v, out=out[1 << j : 2 << j])
    return out


def _popcounts(n: int) -> np.ndarray:
    out = np.empty(1 << n, dtype=np.int8)
    out[0] = 0
    for j in range(n):
        np.add(out[: 1 << j], 1, out=out[1 << j : 2 << j])
    return out


@functools.lru_cache(maxsize=2)
def _masks_by_layer(n: int) -> tuple[np.ndarray, np.ndarray]:
    """All masks grouped by popcount (ascending inside a layer), and layer offsets.

    Independent of the instance, so the last two sizes are cached (read-only
    arrays, 32 MB at n = 22): solving a file of same-size instances pays the
    sort once.
    """
    pc = _popcounts(n)
    # Stable sort of small integers is a radix sort in numpy: O(2^n).
    order = np.argsort(pc, kind="stable").astype(np.int64)
    counts = np.bincount(pc, minlength=n + 1)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    order.setflags(write=False)
    offsets.setflags(write=False)
    return order, offsets


def held_karp(instance: SmttInstance) -> tuple[int, list[int], int]:
    """Optimal total (weighted) tardiness and an optimal order by subset DP.

    Parameters
    ----------
    instance
        An instance with at most :data:`MAX_JOBS` jobs.

    Returns
    -------
    tuple[int, list[int], int]
        ``(optimum, order, states)``; ``states`` is the number of subsets
        evaluated (``2^n``).

    Raises
    ------
    TooManyJobsError
        If ``instance.size > MAX_JOBS``.
    """
    n = instance.size
    if n > MAX_JOBS:
        raise TooManyJobsError(
            f"the subset DP handles at most {MAX_JOBS} jobs (2^{MAX_JOBS} states); "
            f"instance {instance.name or '<unnamed>'} has {n}. "
            "Use method 'mip' or 'cpsat' instead."
        )
    p, d, w = instance.p, instance.d, instance.w
    total = subset_sums(p)
    f = _layered_dp(n, total, d, w)
    order = _reconstruct(n, f, total, d, w)
    return int(f[-1]), order, 1 << n


def _layered_dp(n: int, total: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
    # Every f is bounded by Σ w·P, far below this sentinel, and sentinel + cost
    # cannot overflow int64.
    inf = np.iinfo(np.int64).max // 4
    f = np.empty(1 << n, dtype=np.int64)
    f[0] = 0
    order, offsets = _masks_by_layer(n)
    for k in range(1, n + 1):
        layer = order[offsets[k] : offsets[k + 1]]
        layer_total = total[layer]
        best = np.full(layer.shape[0], inf, dtype=np.int64)
        for j in range(n):
            bit = np.int64(1) << j
            pos = np.flatnonzero(layer & bit)
            if pos.size == 0:
                continue
            late = layer_total[pos] - d[j]
            np.maximum(late, 0, out=late)
            if w[j] != 1:
                late *= w[j]
            late += f[layer[pos] ^ bit]
            best[pos] = np.minimum(best[pos], late)
        f[layer] = best
    return f


def _reconstruct(
    n: int, f: np.ndarray, total: np.ndarray, d: np.ndarray, w: np.ndarray
) -> list[int]:
    reverse: list[int] = []
    mask = (1 << n) - 1
    while mask:
        end = int(total[mask])
        for j in range(n):
            if not mask >> j & 1:
                continue
            prev = mask ^ (1 << j)
            if int(f[prev]) + int(w[j]) * max(0, end - int(d[j])) == int(f[mask]):
                reverse.append(j)
                mask = prev
                break
        else:  # pragma: no cover - would mean the DP table is inconsistent
            raise AssertionError(f"no predecessor of subset {mask:#x} attains its value")
    return reverse[::-1]


def solve(instance: SmttInstance, time_limit: float | None = None) -> Reference:
    """Solve ``instance`` to optimality by the subset DP.

    Parameters
    ----------
    instance
        At most :data:`MAX_JOBS` jobs, weighted or not.
    time_limit
        Accepted for interface uniformity and ignored: the DP's running time is
        fixed by ``n`` (well under a second at ``n = 20``), and a partial DP
        gives neither a solution nor a useful bound.

    Returns
    -------
    Reference
        Status optimal, ``lower_bound == objective``, ``nodes = 2^n``.
    """
    del time_limit
    start = time.perf_counter()
    optimum, order, states = held_karp(instance)
    seconds = time.perf_counter() - start
    # Cheap independent check that the reconstruction and the table agree.
    check = total_tardiness(instance, order)
    if check != optimum:
        raise AssertionError(f"DP order costs {check}, table says {optimum}")
    return Reference(
        objective=float(optimum),
        lower_bound=float(optimum),
        status=Status.OPTIMAL,
        method=METHOD,
        seconds=seconds,
        nodes=states,
        solution=tuple(order),
    )
