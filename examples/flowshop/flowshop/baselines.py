"""Classic flow-shop heuristics as standalone sources (standard library only).

Each source defines the candidate function ``schedule(processing_times)`` with
``processing_times[j][i]`` the time of job ``j`` on machine ``i``, so the same
text is what an exported baseline contains and what runs in-process (it is
executed once into its own namespace): the two can never disagree.

* ``neh``: Nawaz, Enscore & Ham (1983) with Taillard's (1990) O(n²m) insertion
  evaluation; jobs by decreasing total time (ties by index), each inserted at the
  first position of least partial makespan.
* ``palmer``: Palmer (1965) slope index, decreasing (ties by index).
* ``cds``: Campbell, Dudek & Smith (1970): Johnson's rule on the m-1 surrogate
  two-machine problems, the best of the resulting sequences (first on ties).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

_MAKESPAN = '''
def _makespan(p, order):
    m = len(p[0]) if p else 0
    c = [0] * m
    for j in order:
        row = p[j]
        t = 0
        for i in range(m):
            t = max(t, c[i]) + row[i]
            c[i] = t
    return c[-1] if m else 0
'''

NEH = '''
def schedule(processing_times):
    """NEH with Taillard's acceleration: O(n^2 m)."""
    p = processing_times
    n = len(p)
    if n == 0:
        return []
    m = len(p[0])
    order = sorted(range(n), key=lambda j: (-sum(p[j]), j))
    seq = [order[0]]
    for job in order[1:]:
        k = len(seq)
        pj = p[job]
        # e[r][i]: earliest completion of the r-th job of seq on machine i (heads)
        e = [[0] * m for _ in range(k)]
        for r in range(k):
            row = p[seq[r]]
            prev = e[r - 1] if r else None
            t = 0
            er = e[r]
            for i in range(m):
                up = prev[i] if prev is not None else 0
                t = (t if t > up else up) + row[i]
                er[i] = t
        # q[r][i]: tail from the r-th job on machine i to the end
        q = [[0] * m for _ in range(k + 1)]
        for r in range(k - 1, -1, -1):
            row = p[seq[r]]
            nxt = q[r + 1]
            t = 0
            qr = q[r]
            for i in range(m - 1, -1, -1):
                down = nxt[i]
                t = (t if t > down else down) + row[i]
                qr[i] = t
        best_pos, best_val = 0, None
        for pos in range(k + 1):
            prev = e[pos - 1] if pos else None
            t = 0
            value = 0
            tail = q[pos]
            for i in range(m):
                up = prev[i] if prev is not None else 0
                t = (t if t > up else up) + pj[i]
                v = t + tail[i]
                if v > value:
                    value = v
            if best_val is None or value < best_val:
                best_pos, best_val = pos, value
        seq.insert(best_pos, job)
    return seq
'''

PALMER = '''
def schedule(processing_times):
    """Palmer's slope index: jobs whose times grow along the line go first."""
    p = processing_times
    n = len(p)
    if n == 0:
        return []
    m = len(p[0])
    slope = [sum((2 * (i + 1) - m - 1) * p[j][i] for i in range(m)) for j in range(n)]
    return sorted(range(n), key=lambda j: (-slope[j], j))
'''

CDS = _MAKESPAN + '''

def schedule(processing_times):
    """Campbell, Dudek & Smith: the best of m-1 Johnson sequences."""
    p = processing_times
    n = len(p)
    if n == 0:
        return []
    m = len(p[0])
    best, best_value = None, None
    for k in range(1, max(m, 2)):
        a = [sum(p[j][:k]) for j in range(n)]
        b = [sum(p[j][m - k:]) for j in range(n)]
        first = sorted((j for j in range(n) if a[j] < b[j]), key=lambda j: (a[j], j))
        last = sorted((j for j in range(n) if a[j] >= b[j]), key=lambda j: (-b[j], j))
        order = first + last
        value = _makespan(p, order)
        if best_value is None or value < best_value:
            best, best_value = order, value
    return best
'''

SOURCES: dict[str, str] = {"neh": NEH.lstrip(), "palmer": PALMER.lstrip(),
                           "cds": CDS.lstrip()}
"""Name → standalone source defining ``schedule(processing_times)``."""


def compile_baseline(name: str) -> Callable[[Sequence[Sequence[int]]], list[int]]:
    """The ``schedule`` function of baseline ``name``, executed from its source."""
    namespace: dict[str, Any] = {}
    exec(compile(SOURCES[name], f"<flowshop baseline {name}>", "exec"), namespace)
    function: Callable[[Sequence[Sequence[int]]], list[int]] = namespace["schedule"]
    return function
