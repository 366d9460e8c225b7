"""Exact solver for 1||ΣTj that scales to hundreds of jobs (method ``exact``).

Lawler's decomposition on the longest job, with tie-robust position rules
(:mod:`.decomposition`), memoised on (job set, start time) in the spirit of
Branch & Memorize (Shang, T'kindt & Della Croce) and evaluated set by set in
compiled code (:mod:`.search`, :mod:`.memo`); bounds (:mod:`.bounds`) close
trivial instances and bracket the optimum when a time limit stops the search;
:mod:`.result` rebuilds the optimal order.

Typical use::

    from evaluators.smtt.exact.bnb import solve_bnb
    ref = solve_bnb(instance, time_limit=60)
    ref.status, ref.objective, ref.lower_bound, ref.solution

The first call in a fresh environment compiles the numba kernels (about a
minute); they are cached on disk afterwards.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from evaluators.base import Reference, Status
from evaluators.smtt.exact.bnb.bounds import pairing_lower_bound, upper_bound
from evaluators.smtt.exact.bnb.decomposition import edd_ranks
from evaluators.smtt.exact.bnb.result import Memo, Outcome, SearchStats
from evaluators.smtt.exact.bnb.search import DONE, STATE_OFF, TIMED_OUT, evaluate, expand
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness

METHOD = "exact"

MAX_STATES = 60_000_000
"""Memo size at which a search gives up (about 1.5 GB of state arrays)."""

MAX_TOTAL_TIME = 2**31 - 1
"""Largest total processing time handled (start times are packed in 31 bits)."""

_STATUS = {
    Outcome.PROVEN: Status.OPTIMAL,
    Outcome.BOUNDS_MEET: Status.OPTIMAL,
    Outcome.TIME_LIMIT: Status.TIMEOUT,
    # Out of memory rather than time: a solution without proof, not a time-out.
    Outcome.STATE_LIMIT: Status.FEASIBLE,
}

__all__ = ["METHOD", "BnbResult", "Outcome", "SearchStats", "solve", "solve_bnb",
           "solve_detailed"]


@dataclass(frozen=True)
class BnbResult:
    """A :class:`~evaluators.base.Reference` plus how the search ended and its size."""

    reference: Reference
    outcome: Outcome
    stats: SearchStats

    def __post_init__(self) -> None:
        proven = self.outcome in (Outcome.PROVEN, Outcome.BOUNDS_MEET)
        if proven != self.reference.is_optimal:
            raise ValueError(f"outcome {self.outcome} contradicts status "
                             f"{self.reference.status}")


def solve_bnb(instance: SmttInstance, time_limit: float | None = None) -> Reference:
    """Solve an unweighted instance to proven optimality, or until ``time_limit``.

    Parameters
    ----------
    instance
        An unweighted instance with positive processing times and a total
        processing time below :data:`MAX_TOTAL_TIME`.
    time_limit
        Wall-clock seconds; ``None`` for no limit.

    Returns
    -------
    Reference
        ``status`` OPTIMAL with ``lower_bound == objective``, or TIMEOUT with
        the best order found (never worse than MDD) and a valid lower bound
        (FEASIBLE instead when the memo outgrew :data:`MAX_STATES`);
        ``nodes`` counts memo states; ``solution`` is the job order, checked to
        cost ``objective``.

    Raises
    ------
    ValueError
        For weighted instances, non-positive processing times, or a total
        processing time of :data:`MAX_TOTAL_TIME` or more.
    """
    return solve_detailed(instance, time_limit).reference


def solve(instance: SmttInstance, time_limit: float | None = None) -> Reference:
    """Alias of :func:`solve_bnb` with the signature of the exact-method table."""
    return solve_bnb(instance, time_limit)


def solve_detailed(instance: SmttInstance, time_limit: float | None = None, *,
                   bounds_shortcut: bool = True) -> BnbResult:
    """:func:`solve_bnb` with the search outcome and statistics.

    ``bounds_shortcut=False`` runs the decomposition even when the root bounds
    already meet, so tests exercise the search on small instances.
    """
    _check_supported(instance)
    began = time.perf_counter()
    deadline = math.inf if time_limit is None else began + max(0.0, time_limit)
    p, d = instance.p, instance.d
    lower = pairing_lower_bound(p, d)
    best_cost, best_order = upper_bound(p, d)
    stats = SearchStats(0, 0, 0)
    if (bounds_shortcut or instance.size < 2) and lower == best_cost:
        return _finish(instance, best_cost, lower, best_order, Outcome.BOUNDS_MEET, stats,
                       began)
    edd, p_edd, d_edd, rank_edd, by_rank = edd_ranks(instance)
    status, tab, heads, state_t, cand = expand(p_edd, d_edd, rank_edd, by_rank, 0, deadline,
                                               MAX_STATES)
    stats = SearchStats(int(tab.shape[0]), int(state_t.shape[0]), int(cand.shape[0]))
    if status == DONE:
        status, state_v, state_c = evaluate(p_edd, d_edd, rank_edd, by_rank, tab, heads,
                                            state_t, cand, deadline)
    if status != DONE:
        outcome = Outcome.TIME_LIMIT if status == TIMED_OUT else Outcome.STATE_LIMIT
        return _finish(instance, best_cost, lower, best_order, outcome, stats, began)
    memo = Memo(edd, p_edd, d_edd, rank_edd, by_rank, tab, state_t, state_c, cand)
    optimum = int(state_v[tab[0, STATE_OFF]])
    order = np.asarray(memo.sequence(0, 0), dtype=np.int64)
    return _finish(instance, optimum, optimum, order, Outcome.PROVEN, stats, began)


def _check_supported(instance: SmttInstance) -> None:
    if instance.is_weighted:
        raise ValueError(
            f"the exact branch and bound solves 1||ΣTj only; {instance.name or 'instance'} "
            "has weights (use the 'dp', 'mip' or 'cpsat' methods for 1||ΣwjTj)")
    if int(instance.p.min()) <= 0:
        raise ValueError(
            f"the exact branch and bound needs positive processing times; "
            f"{instance.name or 'instance'} has {int(instance.p.min())}")
    if int(instance.p.sum()) >= MAX_TOTAL_TIME:
        raise ValueError(f"total processing time {int(instance.p.sum())} is too large "
                         f"(limit {MAX_TOTAL_TIME})")


def _finish(instance: SmttInstance, objective: int, lower: int, order: np.ndarray,
            outcome: Outcome, stats: SearchStats, began: float) -> BnbResult:
    solution = tuple(int(j) for j in order)
    if sorted(solution) != list(range(instance.size)):
        raise AssertionError(f"{instance.name}: rebuilt order is not a permutation")
    cost = total_tardiness(instance, solution)
    if cost != objective:
        raise AssertionError(f"{instance.name}: order costs {cost}, search says {objective}")
    proven = outcome in (Outcome.PROVEN, Outcome.BOUNDS_MEET)
    reference = Reference(
        objective=float(objective),
        lower_bound=float(objective if proven else lower),
        status=_STATUS[outcome],
        method=METHOD,
        seconds=time.perf_counter() - began,
        nodes=stats.states,
        solution=solution,
    )
    return BnbResult(reference, outcome, stats)
