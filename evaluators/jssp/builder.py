"""Giffler–Thompson schedule builder for the job shop, driven by a priority function.

This module is deliberately self-contained (standard library only): it runs
inside the sandbox next to untrusted candidate code, and its source is copied
verbatim into exported heuristics, so it must not import anything from
``evaluators``.

An instance is given as two equally shaped lists of lists: ``machines[j][k]``
is the machine of the k-th operation of job j and ``durations[j][k]`` its
processing time (a non-negative integer). The builder schedules one operation
per step, always appending it to its machine (Giffler and Thompson, 1960):

* ``"non_delay"``: t* is the smallest earliest start over all schedulable
  operations; the conflict set is every operation on the machine where t* is
  attained (lowest machine index on ties) that can start at t*. No machine is
  ever left idle while an operation could run on it.
* ``"active"``: C* is the smallest earliest completion time over all
  schedulable operations, attained on machine m* (lowest machine index on
  ties); the conflict set is every operation on m* that can start before C*
  (plus zero-length operations finishing at C*). Every active schedule,
  including an optimal one, can be reached this way.

Within the conflict set the operation with the **smallest** priority value
wins; equal values go to the lowest job index. The priority function is called
positionally with the features in :data:`FEATURES` (all plain ints, all
describing the partial schedule *before* the decision):

==========================  ===================================================
``p``                       processing time of the operation
``est``                     its earliest start: max(job_ready, machine_ready)
``t``                       decision time: the smallest ``est`` in the conflict
                            set (non-delay: equal to ``est`` for every candidate)
``job_ready``               completion time of the job's previous operation
                            (0 for the first), i.e. when it joined the queue
``work_done``               total processing time of the job's scheduled operations
``work_remaining``          the job's unscheduled processing time, including ``p``
``ops_remaining``           the job's unscheduled operations, including this one
``next_p``                  processing time of the job's following operation
                            (0 when this is the last)
``machine_ready``           when the machine finishes its last scheduled operation
``machine_work_remaining``  unscheduled processing time on the machine, incl. ``p``
``machine_ops_remaining``   unscheduled operations on the machine, incl. this one
``cmax``                    makespan of the partial schedule so far
``n_jobs``, ``n_machines``  instance size
``next_machine_ready``      when the machine of the job's following operation
                            finishes its last scheduled operation (0 when
                            this is the job's last operation)
``next_machine_queue``      work waiting on that machine: the processing times
                            of the operations currently queued there, i.e.
                            whose job's previous operation is scheduled (0
                            when this is the job's last operation)
==========================  ===================================================

The result is the list of start times, flat and job-major:
``start[j * n_ops + k]`` for job j, operation k.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import SupportsFloat

NON_DELAY = "non_delay"
ACTIVE = "active"
VARIANTS = (NON_DELAY, ACTIVE)

FEATURES = (
    "p",
    "est",
    "t",
    "job_ready",
    "work_done",
    "work_remaining",
    "ops_remaining",
    "next_p",
    "machine_ready",
    "machine_work_remaining",
    "machine_ops_remaining",
    "cmax",
    "n_jobs",
    "n_machines",
    "next_machine_ready",
    "next_machine_queue",
)

Priority = Callable[..., SupportsFloat]


def build(
    machines: Sequence[Sequence[int]],
    durations: Sequence[Sequence[int]],
    priority: Priority,
    variant: str = NON_DELAY,
) -> list[int]:
    """Build a schedule by Giffler–Thompson, choosing with ``priority``.

    Parameters
    ----------
    machines, durations
        ``machines[j][k]`` and ``durations[j][k]``: machine index (0-based) and
        processing time of operation k of job j. Every job has the same number
        of operations.
    priority
        Called as ``priority(*features)`` (see :data:`FEATURES`) for each
        operation of the conflict set; the smallest value wins, ties go to the
        lowest job index. The value must convert to a float that is not NaN.
    variant
        ``"non_delay"`` or ``"active"``.

    Returns
    -------
    list[int]
        Start times, job-major: ``start[j * n_ops + k]``.

    Raises
    ------
    ValueError
        For an unknown variant, malformed instance lists or a NaN priority.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown builder variant {variant!r} (use {' or '.join(VARIANTS)})")
    active = variant == ACTIVE
    n_jobs = len(machines)
    if n_jobs == 0 or len(durations) != n_jobs:
        raise ValueError("machines and durations must list the same, non-zero number of jobs")
    n_ops = len(machines[0])
    mach = [[int(x) for x in row] for row in machines]
    dur = [[int(x) for x in row] for row in durations]
    if any(len(r) != n_ops for r in mach) or any(len(r) != n_ops for r in dur):
        raise ValueError("every job must have the same number of operations")
    n_machines = 1 + max(max(r) for r in mach) if n_ops else 0

    start = [0] * (n_jobs * n_ops)
    nxt = [0] * n_jobs
    job_ready = [0] * n_jobs
    work_done = [0] * n_jobs
    work_left = [sum(r) for r in dur]
    mach_ready = [0] * n_machines
    mach_work = [0] * n_machines
    mach_ops = [0] * n_machines
    for j in range(n_jobs):
        for k in range(n_ops):
            mach_work[mach[j][k]] += dur[j][k]
            mach_ops[mach[j][k]] += 1
    # queue[m]: jobs whose next unscheduled operation runs on machine m.
    queue: list[list[int]] = [[] for _ in range(n_machines)]
    # queue_work[m]: processing time of the operations in queue[m].
    queue_work = [0] * n_machines
    if n_ops:
        for j in range(n_jobs):
            queue[mach[j][0]].append(j)
            queue_work[mach[j][0]] += dur[j][0]
    # key[m]: smallest earliest start (non-delay) or completion (active) on m.
    key = [math.inf] * n_machines

    def refresh(m: int) -> None:
        ready = mach_ready[m]
        best = math.inf
        for j in queue[m]:
            e = job_ready[j] if job_ready[j] > ready else ready
            if active:
                e += dur[j][nxt[j]]
            if e < best:
                best = e
        key[m] = best

    for m in range(n_machines):
        refresh(m)
    cmax = 0
    for _ in range(n_jobs * n_ops):
        bound = min(key)
        m = key.index(bound)  # lowest machine index on ties
        ready = mach_ready[m]
        mwork = mach_work[m]
        mops = mach_ops[m]
        # Conflict set: (job, est) pairs, in queue order.
        cands = []
        t = math.inf
        for j in queue[m]:
            e = job_ready[j] if job_ready[j] > ready else ready
            if (e < bound or e + dur[j][nxt[j]] <= bound) if active else e <= bound:
                cands.append((j, e))
                if e < t:
                    t = e
        best_j = -1
        best_v = math.inf
        best_e = 0
        for j, e in cands:
            k = nxt[j]
            m2 = mach[j][k + 1] if k + 1 < n_ops else -1
            v = float(
                priority(
                    dur[j][k],
                    e,
                    t,
                    job_ready[j],
                    work_done[j],
                    work_left[j],
                    n_ops - k,
                    dur[j][k + 1] if k + 1 < n_ops else 0,
                    ready,
                    mwork,
                    mops,
                    cmax,
                    n_jobs,
                    n_machines,
                    mach_ready[m2] if m2 >= 0 else 0,
                    queue_work[m2] if m2 >= 0 else 0,
                )
            )
            if v != v:
                raise ValueError(f"priority returned NaN for job {j}, operation {k}")
            if best_j < 0 or v < best_v or (v == best_v and j < best_j):
                best_j, best_v, best_e = j, v, e
        j = best_j
        k = nxt[j]
        p = dur[j][k]
        end = best_e + p
        start[j * n_ops + k] = best_e
        job_ready[j] = end
        mach_ready[m] = end
        work_done[j] += p
        work_left[j] -= p
        mach_work[m] -= p
        mach_ops[m] -= 1
        if end > cmax:
            cmax = end
        queue[m].remove(j)
        queue_work[m] -= p
        nxt[j] = k + 1
        if k + 1 < n_ops:
            m2 = mach[j][k + 1]
            queue[m2].append(j)
            queue_work[m2] += dur[j][k + 1]
            if m2 != m:
                refresh(m2)
        refresh(m)
    return start


def makespan(durations: Sequence[Sequence[int]], start: Sequence[int]) -> int:
    """Largest completion time of a job-major start-time list (no validation)."""
    n_ops = len(durations[0]) if durations else 0
    return max(
        (start[j * n_ops + k] + int(durations[j][k])
         for j in range(len(durations)) for k in range(n_ops)),
        default=0,
    )
