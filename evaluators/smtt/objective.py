"""Objective and output validation for single-machine tardiness."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np

from evaluators.base import Failure, FailureReason
from evaluators.smtt.instance import SmttInstance

SMALL_N = 64
"""Up to this many jobs a plain loop beats numpy's per-call overhead (scoring
hundreds of small training instances per candidate is on the search's hot path)."""


def total_tardiness(instance: SmttInstance, order: Sequence[int]) -> int:
    """Total (weighted) tardiness ``Σ w_j·max(0, C_j − d_j)`` of a job order.

    Parameters
    ----------
    instance
        The instance.
    order
        A permutation of ``0..n-1``: the processing sequence. Not validated here;
        call :func:`validate_order` on untrusted output first.
    """
    if len(order) <= SMALL_N:
        return _total_tardiness_small(instance, order)
    idx = np.asarray(order, dtype=np.int64)
    completion = np.cumsum(instance.p[idx])
    tardy = np.maximum(completion - instance.d[idx], 0)
    if instance.weights is not None:
        tardy = tardy * instance.w[idx]
    return int(tardy.sum())


def _total_tardiness_small(instance: SmttInstance, order: Sequence[int]) -> int:
    p, d, w = instance.processing_times, instance.due_dates, instance.weights
    completion = total = 0
    for j in order:
        completion += p[j]
        late = completion - d[j]
        if late > 0:
            total += late if w is None else w[j] * late
    return int(total)


def validate_order(n: int, raw: object) -> list[int] | Failure:
    """Check that ``raw`` is a permutation of ``0..n-1`` made of integers.

    Accepts lists, tuples and 1-D numpy integer arrays; integral floats such as
    ``3.0`` are rejected (a candidate must return job indices, not numbers that
    happen to round to them). Never calls methods of the elements beyond
    type checks, so a hostile ``float`` subclass cannot influence the result.

    Returns
    -------
    list[int] | Failure
        The order as plain ints, or a typed reason for rejection.
    """
    # The common case, a list of exact ints, in one pass; everything else, including
    # every failure, takes the careful path below and gets its precise reason.
    if (type(raw) is list and len(raw) == n and _EXACT_INT.issuperset(map(type, raw))
            and set(raw) == _indices(n)):
        return list(raw)
    if isinstance(raw, np.ndarray):
        if raw.ndim != 1:
            return Failure(FailureReason.NOT_A_SEQUENCE, f"array has {raw.ndim} dimensions")
        if not np.issubdtype(raw.dtype, np.integer):
            return _classify_non_integers(raw.tolist()) or Failure(
                FailureReason.NON_INTEGER, f"array of {raw.dtype} is not integer job indices")
        values: list[object] = [int(v) for v in raw.tolist()]
    elif isinstance(raw, (list, tuple)):
        values = list(raw)
    else:
        return Failure(
            FailureReason.NOT_A_SEQUENCE,
            f"expected a list of job indices, got {type(raw).__name__}",
        )
    if len(values) != n:
        return Failure(FailureReason.WRONG_LENGTH, f"expected {n} jobs, got {len(values)}")
    bad = _classify_non_integers(values)
    if bad is not None:
        return bad
    order = [int(v) for v in values]  # type: ignore[call-overload]
    seen = [False] * n
    for pos, j in enumerate(order):
        if j < 0 or j >= n:
            return Failure(
                FailureReason.OUT_OF_RANGE, f"position {pos}: job {j} not in 0..{n - 1}"
            )
        if seen[j]:
            return Failure(FailureReason.DUPLICATE, f"position {pos}: job {j} appears twice")
        seen[j] = True
    # With the right length and no duplicates nothing can be missing, but keep
    # the check explicit so the invariant does not rest on that argument alone.
    missing = [j for j in range(n) if not seen[j]]
    if missing:
        return Failure(FailureReason.MISSING, f"jobs missing: {missing[:10]}")
    return order


_EXACT_INT = frozenset({int})


@functools.lru_cache(maxsize=64)
def _indices(n: int) -> frozenset[int]:
    return frozenset(range(n))


def _classify_non_integers(values: Sequence[object]) -> Failure | None:
    for pos, v in enumerate(values):
        # type() rather than isinstance(): bool is an int subclass and float
        # subclasses may override comparisons; only exact ints are job indices.
        if type(v) is int or isinstance(v, np.integer):
            continue
        if isinstance(v, Real) and not isinstance(v, Integral):
            fv = float(v)
            if not math.isfinite(fv):
                return Failure(FailureReason.NOT_FINITE, f"position {pos}: {fv!r}")
        return Failure(
            FailureReason.NON_INTEGER,
            f"position {pos}: {type(v).__name__} is not an integer job index",
        )
    return None
