"""Dynamic dispatching rules for 1||Σ(w)T: MDD, WMDD, MDDC, ATC and COVERT.

Each rule builds the sequence front to back: at time ``t`` (the sum of the
processing times already scheduled) it scores every unscheduled job and
appends the best one. One step is a handful of numpy operations over all
``n`` jobs (scheduled jobs are masked out), so a rule costs O(n²) arithmetic
but only O(n) Python-level iterations.

Tie-breaks are part of the definition: they change the seed paper's figures.
Scores are computed with integer arithmetic where the rule allows it (MDD,
WMDD) so that ties are exact.

Standard library and numpy only: these functions are copied verbatim into
exported standalone modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mdd_order(p: Sequence[int], d: Sequence[int]) -> list[int]:
    """Modified due date (Baker & Bertrand 1982): smallest ``max(t + p_j, d_j)`` first.

    Ties go to the lowest job index, the convention that reproduces the seed
    paper's tables. Weights are ignored (see :func:`wmdd_order`).

    Parameters
    ----------
    p, d
        Processing times and due dates.

    Returns
    -------
    list[int]
        The job order.
    """
    pa = np.asarray(p, dtype=np.int64)
    da = np.asarray(d, dtype=np.int64)
    n = len(pa)
    # Scheduled jobs get a key no real job can reach; argmin returns the first
    # minimum, i.e. the lowest index among ties.
    done = np.zeros(n, dtype=bool)
    big = np.iinfo(np.int64).max
    order: list[int] = []
    t = 0
    for _ in range(n):
        key = np.maximum(pa + t, da)
        key[done] = big
        j = int(np.argmin(key))
        done[j] = True
        order.append(j)
        t += int(pa[j])
    return order


def wmdd_order(
    p: Sequence[int], d: Sequence[int], w: Sequence[int] | None = None
) -> list[int]:
    """Weighted modified due date (Kanet & Li 2004): smallest ``max(p_j, d_j − t)/w_j``.

    With unit weights the key is MDD's ``max(t + p, d) − t``, so the order is
    MDD's; without weights this function simply calls :func:`mdd_order`. With
    weights the key is a float64 quotient; ties go to the lowest job index.

    Parameters
    ----------
    p, d
        Processing times and due dates.
    w
        Weights, or ``None`` for unit weights.

    Returns
    -------
    list[int]
        The job order.
    """
    if w is None:
        return mdd_order(p, d)
    pa = np.asarray(p, dtype=np.int64)
    da = np.asarray(d, dtype=np.int64)
    wa = np.asarray(w, dtype=np.float64)
    n = len(pa)
    done = np.zeros(n, dtype=bool)
    order: list[int] = []
    t = 0
    for _ in range(n):
        key = np.maximum(pa, da - t) / wa
        key[done] = np.inf
        j = int(np.argmin(key))
        done[j] = True
        order.append(j)
        t += int(pa[j])
    return order


def mddc_order(p: Sequence[int], d: Sequence[int]) -> list[int]:
    """MDDC, the seed paper's LLM-discovered refinement of MDD.

    Unscheduled jobs ``U`` are kept in EDD order (ties by shorter processing
    time, then lower index). At time ``t`` every job in ``U`` gets

    * ``µ = max(1.1·p + t, d)``
    * ``ρ = min(p / (t + max p_U), 1)``, ``θ = ρ²/(1 + ρ²)``, ``µ ← µ·(1 + θ)``
    * ``σ = p / (t + mean p_U)``, ``µ ← µ + σ``

    and the job with the smallest ``µ`` is appended (ties: earlier in ``U``).
    Arithmetic is float64 in exactly this order; ``mean p_U`` is the exact
    integer sum divided by ``|U|``. Weights are ignored.

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
    # Work in U's order so that argmin's first-minimum rule is "earlier in U".
    perm = sorted(range(n), key=lambda j: (d[j], p[j], j))
    pi = np.asarray([p[j] for j in perm], dtype=np.int64)
    pf = pi.astype(np.float64)
    p11 = 1.1 * pf
    df = np.asarray([d[j] for j in perm], dtype=np.float64)
    dead = np.zeros(n, dtype=bool)
    by_p = np.argsort(-pi, kind="stable")  # max p_U: first job of by_p still in U
    top = 0
    left = n
    total_p = int(pi.sum())
    order: list[int] = []
    t = 0
    # The seed paper's n20_normal data contain zero and negative times, so the
    # denominators can vanish; the resulting inf/nan keys are kept (as the
    # paper's run did) and a scheduled job is never selected.
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(n):
            while dead[by_p[top]]:
                top += 1
            p_max = int(pi[by_p[top]])
            p_mean = total_p / left
            mu = np.maximum(p11 + t, df)
            rho = np.minimum(pf / (t + p_max), 1.0)
            rho2 = rho * rho
            mu *= 1.0 + rho2 / (1.0 + rho2)
            mu += pf / (t + p_mean)
            mu[dead] = np.inf
            k = int(np.argmin(mu))
            if dead[k]:
                # Every live key is +inf (a vanished denominator): take the first live job
                # in U's order rather than re-selecting a scheduled one.
                k = int(np.flatnonzero(~dead)[0])
            dead[k] = True
            left -= 1
            total_p -= int(pi[k])
            t += int(pi[k])
            order.append(perm[k])
    return order


def atc_order(
    p: Sequence[int], d: Sequence[int], w: Sequence[int] | None = None, k: float = 2.0
) -> list[int]:
    """Apparent tardiness cost (Vepsalainen & Morton 1987).

    At time ``t`` the job with the largest
    ``I_j = (w_j/p_j)·exp(−max(d_j − p_j − t, 0)/(k·p̄))`` is appended, where
    ``p̄`` is the mean processing time of the unscheduled jobs. The index is
    compared in log space, ``log(w_j/p_j) − slack_j/(k·p̄)``, because the
    exponential underflows to zero for jobs far from their due date, which
    would turn the choice into an arbitrary tie. Ties go to the earlier due
    date, then the lower index. Processing times (and ``p̄``) below 1 are
    clamped to 1 in the index, which is defined for positive times only.

    Parameters
    ----------
    p, d
        Processing times and due dates.
    w
        Weights, or ``None`` for unit weights.
    k
        Look-ahead parameter (> 0); small ``k`` favours urgent jobs, large ``k``
        tends to WSPT.

    Returns
    -------
    list[int]
        The job order.
    """
    if not k > 0:
        raise ValueError(f"ATC look-ahead k must be positive, got {k!r}")
    n = len(p)
    perm = sorted(range(n), key=lambda j: (d[j], j))
    pi = np.asarray([p[j] for j in perm], dtype=np.int64)
    # The index is defined for positive times; clamping keeps the logarithm and
    # the divisions finite on data with zero or negative times.
    pf = np.maximum(pi, 1).astype(np.float64)
    df = np.asarray([d[j] for j in perm], dtype=np.float64)
    wf = np.ones(n) if w is None else np.asarray([w[j] for j in perm], dtype=np.float64)
    base = np.log(wf / pf)
    alive = np.ones(n, dtype=bool)
    left = n
    total_p = int(pi.sum())
    order: list[int] = []
    t = 0
    for _ in range(n):
        p_bar = max(total_p / left, 1.0)
        index = base - np.maximum(df - pf - t, 0.0) / (k * p_bar)
        index[~alive] = -np.inf
        j = int(np.argmax(index))
        alive[j] = False
        left -= 1
        total_p -= int(pi[j])
        t += int(pi[j])
        order.append(perm[j])
    return order


def covert_order(
    p: Sequence[int], d: Sequence[int], w: Sequence[int] | None = None, k: float = 2.0
) -> list[int]:
    """Cost over time (Carroll 1965), in Morton & Pentico's form.

    At time ``t`` the job with the largest
    ``(w_j/p_j)·max(0, 1 − max(d_j − p_j − t, 0)/(k·p_j))`` is appended: a job's
    WSPT ratio, scaled down linearly with its slack over a look-ahead of ``k``
    of its own processing times. Jobs with slack ≥ ``k·p_j`` all score zero;
    among equal scores (in particular those zeros) the earlier due date goes
    first, then the lower index. Processing times below 1 are clamped to 1 in
    the index, which is defined for positive times only.

    Parameters
    ----------
    p, d
        Processing times and due dates.
    w
        Weights, or ``None`` for unit weights.
    k
        Look-ahead in multiples of the job's processing time (> 0).

    Returns
    -------
    list[int]
        The job order.
    """
    if not k > 0:
        raise ValueError(f"COVERT look-ahead k must be positive, got {k!r}")
    n = len(p)
    perm = sorted(range(n), key=lambda j: (d[j], j))
    pi = np.asarray([p[j] for j in perm], dtype=np.int64)
    # Defined for positive times; clamp so zero or negative times stay finite.
    pf = np.maximum(pi, 1).astype(np.float64)
    df = np.asarray([d[j] for j in perm], dtype=np.float64)
    wf = np.ones(n) if w is None else np.asarray([w[j] for j in perm], dtype=np.float64)
    ratio = wf / pf
    alive = np.ones(n, dtype=bool)
    order: list[int] = []
    t = 0
    for _ in range(n):
        slack = np.maximum(df - pf - t, 0.0)
        index = ratio * np.maximum(1.0 - slack / (k * pf), 0.0)
        index[~alive] = -np.inf
        j = int(np.argmax(index))
        alive[j] = False
        t += int(pi[j])
        order.append(perm[j])
    return order
