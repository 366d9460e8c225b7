"""Independent oracles and hypothesis strategies for the heuristics tests.

The oracles are deliberately literal, scalar, pure-Python transcriptions of
the definitions (benchmarks/README.md), sharing no code with the package.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import strategies as st

from evaluators.smtt.instance import SmttInstance


def plain_tardiness(
    p: Sequence[int], d: Sequence[int], order: Sequence[int], w: Sequence[int] | None = None
) -> int:
    """Σ w·max(0, C − d) by a plain loop (works for any integers)."""
    t = 0
    total = 0
    for j in order:
        t += p[j]
        total += (1 if w is None else w[j]) * max(0, t - d[j])
    return total


def brute_force_optimum(p: Sequence[int], d: Sequence[int], w: Sequence[int] | None) -> int:
    """Minimum over all permutations (n ≤ 7)."""
    return min(plain_tardiness(p, d, perm, w) for perm in itertools.permutations(range(len(p))))


def mdd_step(p: Sequence[int], d: Sequence[int], t: int, unscheduled: list[int]) -> int:
    """MDD's choice: smallest max(t + p, d), ties to the lowest index."""
    return min(unscheduled, key=lambda j: (max(t + p[j], d[j]), j))


def mddc_step(p: Sequence[int], d: Sequence[int], t: int, unscheduled: list[int]) -> int:
    """MDDC's choice, scalar float arithmetic in the README's order.

    ``unscheduled`` must be in U's order (EDD, ties by p, then index).
    """
    p_max = max(p[j] for j in unscheduled)
    p_mean = sum(p[j] for j in unscheduled) / len(unscheduled)
    best, best_mu = unscheduled[0], float("inf")
    for j in unscheduled:
        mu = max(1.1 * p[j] + t, d[j])
        rho = min(p[j] / (t + p_max), 1)
        theta = rho**2 / (1 + rho**2)
        mu = mu * (1 + theta)
        sigma = p[j] / (t + p_mean)
        mu = mu + sigma
        if mu < best_mu:  # strict: ties stay with the earlier job in U
            best, best_mu = j, mu
    return best


def dispatch(p: Sequence[int], d: Sequence[int], rule: str, augment: bool = False,
             w: Sequence[int] | None = None) -> list[int]:
    """Literal MDD / MDDC, optionally with Bean & Hall augmentation interleaved."""
    n = len(p)
    if rule == "mddc":
        unscheduled = sorted(range(n), key=lambda j: (d[j], p[j], j))
        step = mddc_step
    else:
        unscheduled = list(range(n))
        step = mdd_step
    seq: list[int] = []
    t = 0
    while unscheduled:
        j = step(p, d, t, unscheduled)
        unscheduled.remove(j)
        seq.append(j)
        t += p[j]
        if augment:
            seq = bean_hall_move(p, d, seq, w)
    return seq


def bean_hall_move(p: Sequence[int], d: Sequence[int], seq: list[int],
                   w: Sequence[int] | None = None) -> list[int]:
    """Best strictly improving move of one job to the end of ``seq`` (ties: first)."""
    best, best_cost = seq, plain_tardiness(p, d, seq, w)
    for m in range(len(seq) - 1):
        cand = seq[:m] + seq[m + 1 :] + [seq[m]]
        cost = plain_tardiness(p, d, cand, w)
        if cost < best_cost:
            best, best_cost = cand, cost
    return best


def improving_neighbour(p: Sequence[int], d: Sequence[int], order: list[int],
                        w: Sequence[int] | None = None) -> list[int] | None:
    """Some adjacent swap or insertion that strictly improves ``order``, or None."""
    base = plain_tardiness(p, d, order, w)
    n = len(order)
    for i in range(n):
        rest = order[:i] + order[i + 1 :]
        for j in range(n):
            cand = [*rest[:j], order[i], *rest[j:]]
            if plain_tardiness(p, d, cand, w) < base:
                return cand
    return None  # insertions include every adjacent swap


@st.composite
def instances(draw: st.DrawFn, max_n: int = 12, weighted: bool | None = None) -> SmttInstance:
    """Random instances covering the edge cases the heuristics must survive.

    Mixes n = 1, equal due dates, no tardiness possible (d ≥ Σp), all jobs
    late, huge due dates, large processing times and optional weights.
    """
    n = draw(st.integers(1, max_n))
    p_max = draw(st.sampled_from([1, 10, 100, 10**6]))
    p = draw(st.lists(st.integers(1, p_max), min_size=n, max_size=n))
    total = sum(p)
    kind = draw(st.sampled_from(["random", "equal", "slack", "late", "huge"]))
    if kind == "equal":
        d = [draw(st.integers(-total, 2 * total))] * n
    elif kind == "slack":
        d = draw(st.lists(st.integers(total, 3 * total), min_size=n, max_size=n))
    elif kind == "late":
        d = draw(st.lists(st.integers(-total, 0), min_size=n, max_size=n))
    elif kind == "huge":
        d = draw(st.lists(st.integers(-(10**12), 10**12), min_size=n, max_size=n))
    else:
        d = draw(st.lists(st.integers(-total // 4, total), min_size=n, max_size=n))
    if weighted is None:
        weighted = draw(st.booleans())
    w = draw(st.lists(st.integers(1, 10), min_size=n, max_size=n)) if weighted else None
    return SmttInstance(tuple(p), tuple(d), None if w is None else tuple(w), name=kind)


@st.composite
def raw_sequences(draw: st.DrawFn, max_n: int = 9) -> tuple[list[int], list[int]]:
    """Plain (p, d) lists that may contain zero and negative processing times.

    The seed paper's n20_normal file has such times, and the core functions
    must still return permutations (and exact augmentation / local search).
    """
    n = draw(st.integers(1, max_n))
    p = draw(st.lists(st.integers(-20, 60), min_size=n, max_size=n))
    d = draw(st.lists(st.integers(-50, 200), min_size=n, max_size=n))
    return p, d
