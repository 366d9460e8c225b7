"""Rule-based constructive heuristics for 1||ΣT: EDDC and PSK.

Both are written exactly as the benchmark README defines them (the versions
that reproduce the seed paper's tables), in plain Python over sequences.
Standard library only: these functions are copied verbatim into exported
standalone modules.
"""

from __future__ import annotations

from collections.abc import Sequence


def eddc_order(p: Sequence[int], d: Sequence[int]) -> list[int]:
    """EDDC, the seed paper's LLM-discovered insertion rule, as its tables were produced.

    Start from SPT order with due-date tie-break (then job index). For
    ``i = 1 .. n−1``: with ``j = i``, while ``j > 0`` and
    ``d[S[j]] < d[S[j−1]]``, swap ``S[j]`` and ``S[j−1]`` if
    ``d[S[j−1]] > Σ_{k<j} p[S[k]]`` (the earlier job would finish early), then
    ``j ← j − 1`` whether or not it swapped. The paper's printed Algorithm 1
    differs; this is the variant that reproduces its numbers. Weights are
    ignored.

    Parameters
    ----------
    p, d
        Processing times and due dates.

    Returns
    -------
    list[int]
        The job order.
    """
    n = len(p)
    spt = sorted(range(n), key=lambda j: (p[j], d[j], j))
    s = list(spt)
    # Positions 0..i−1 always hold the first i SPT jobs (iteration i only
    # permutes positions ≤ i), so Σ_{k<i} p[S[k]] is a running SPT prefix sum.
    prefix = 0
    for i in range(1, n):
        prefix += int(p[spt[i - 1]])
        j = i
        before = prefix  # Σ_{k<j} p[S[k]]
        while j > 0 and d[s[j]] < d[s[j - 1]]:
            a = s[j - 1]
            if d[a] > before:
                s[j - 1], s[j] = s[j], a
            # Σ_{k<j−1} p = Σ_{k<j} p − p of the job that was at j−1 (``a``),
            # swapped or not.
            before -= int(p[a])
            j -= 1
    return s


def psk_order(p: Sequence[int], d: Sequence[int]) -> list[int]:
    """PSK (Panwalkar, Smith & Koulamas 1993).

    Unscheduled jobs are kept in SPT order (ties by due date, then index);
    ``C`` is the time already scheduled. The first unscheduled job is *active*.
    The active job ``i`` is scheduled if it is the last unscheduled job or if
    ``C + p_i ≥ d_i`` (it is late anyway). Otherwise later jobs ``j`` are
    scanned in order: ``i`` is scheduled as soon as ``d_i ≤ C + p_j``; if
    ``d_i ≤ d_j`` the scan goes on (and ``i`` is scheduled when ``j`` was the
    last job); if ``d_j < d_i``, ``j`` becomes the active job and the same
    tests restart from it. After scheduling, the first unscheduled job becomes
    active again. Weights are ignored.

    Parameters
    ----------
    p, d
        Processing times and due dates.

    Returns
    -------
    list[int]
        The job order.
    """
    seq = sorted(range(len(p)), key=lambda j: (p[j], d[j], j))
    order: list[int] = []
    c = 0
    while seq:
        last = len(seq) - 1
        a = 0  # position of the active job in seq
        while a < last and c + p[seq[a]] < d[seq[a]]:
            di = d[seq[a]]
            b = a + 1
            while True:
                j = seq[b]
                if di <= c + p[j]:
                    b = -1  # schedule the active job
                    break
                if d[j] < di:
                    break  # j becomes active
                if b == last:
                    b = -1
                    break
                b += 1
            if b < 0:
                break
            a = b
        job = seq.pop(a)
        order.append(job)
        c += int(p[job])
    return order
