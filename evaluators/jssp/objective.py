"""Trusted validation of job-shop schedules and their makespan.

A solution is the list of start times, flat and job-major
(``start[j * n_ops + k]``), as the builder returns it. The trusted side never
trusts the builder that ran in the sandbox: it re-checks every constraint
against the instance's own durations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np

from evaluators.base import Failure, FailureReason
from evaluators.jssp.instance import JsspInstance

# Start times beyond this are certainly not a sensible schedule and would risk
# int64 overflow when durations are added.
MAX_START = 2**53


def makespan(instance: JsspInstance, start: Sequence[int]) -> int:
    """Largest completion time ``max(start + duration)`` of a validated schedule."""
    s = np.asarray(start, dtype=np.int64).reshape(instance.duration_array.shape)
    return int((s + instance.duration_array).max())


def validate_schedule(instance: JsspInstance, raw: object) -> list[int] | Failure:
    """Check that ``raw`` is a feasible schedule of ``instance``.

    Checks, in order: a flat sequence of ``n_jobs · n_ops`` integers (exact
    ints or numpy integers; floats, bools and other types are rejected), no
    negative start, each operation starting after its job predecessor ends,
    and no two operations of positive length overlapping on a machine
    (intervals are half-open, so a zero-length operation occupies nothing).

    Returns
    -------
    list[int] | Failure
        The start times as plain ints, or the first violation found.
    """
    shape = instance.duration_array.shape
    size = shape[0] * shape[1]
    if isinstance(raw, np.ndarray):
        if raw.ndim != 1:
            return Failure(FailureReason.NOT_A_SEQUENCE, f"array has {raw.ndim} dimensions")
        values: list[object] = raw.tolist()
    elif isinstance(raw, (list, tuple)):
        values = list(raw)
    else:
        return Failure(FailureReason.NOT_A_SEQUENCE,
                       f"expected a flat list of start times, got {type(raw).__name__}")
    if len(values) != size:
        return Failure(FailureReason.WRONG_LENGTH,
                       f"expected {size} start times ({shape[0]} jobs x {shape[1]} operations), "
                       f"got {len(values)}")
    starts: list[int] = []
    for pos, v in enumerate(values):
        # type() rather than isinstance(): bool is an int subclass, and int
        # subclasses may override comparisons or arithmetic.
        if type(v) is int or isinstance(v, np.integer):
            iv = int(v)
        elif isinstance(v, Real) and not isinstance(v, Integral) and not math.isfinite(float(v)):
            return Failure(FailureReason.NOT_FINITE, f"{_op(pos, shape[1])}: {float(v)!r}")
        else:
            return Failure(FailureReason.NON_INTEGER,
                           f"{_op(pos, shape[1])}: {type(v).__name__} is not an integer time")
        if not 0 <= iv <= MAX_START:
            return Failure(FailureReason.OUT_OF_RANGE,
                           f"{_op(pos, shape[1])}: start {iv} not in 0..{MAX_START}")
        starts.append(iv)
    problem = _violation(instance, np.asarray(starts, dtype=np.int64).reshape(shape))
    return starts if problem is None else problem


def _op(pos: int, n_ops: int) -> str:
    return f"job {pos // n_ops}, operation {pos % n_ops}"


def _violation(instance: JsspInstance, s: np.ndarray) -> Failure | None:
    d = instance.duration_array
    e = s + d
    late = np.argwhere(s[:, 1:] < e[:, :-1])
    if late.size:
        j, k = (int(x) for x in late[0])
        return Failure(FailureReason.INFEASIBLE,
                       f"job {j}: operation {k + 1} starts at {int(s[j, k + 1])} before "
                       f"operation {k} ends at {int(e[j, k])}")
    mach = instance.machine_array.ravel()
    flat_s, flat_e = s.ravel(), e.ravel()
    positive = np.flatnonzero(d.ravel() > 0)
    order = positive[np.lexsort((flat_s[positive], mach[positive]))]
    same = mach[order[1:]] == mach[order[:-1]]
    clash = np.flatnonzero(same & (flat_s[order[1:]] < flat_e[order[:-1]]))
    if clash.size:
        a, b = int(order[clash[0]]), int(order[clash[0] + 1])
        n_ops = s.shape[1]
        return Failure(FailureReason.INFEASIBLE,
                       f"machine {int(mach[a])}: {_op(a, n_ops)} runs "
                       f"[{int(flat_s[a])}, {int(flat_e[a])}) and {_op(b, n_ops)} starts at "
                       f"{int(flat_s[b])}")
    return None
