"""CP-SAT scheduling model for 1||ΣTj and 1||ΣwjTj.

Model
-----
Horizon ``H = Σ p_j`` (an optimal schedule has no idle time, and every
permutation fits in ``[0, H]``).

* ``S_j ∈ [0, H − p_j]`` start of job ``j``; interval ``[S_j, S_j + p_j)``;
  one ``NoOverlap`` over all intervals (the machine).
* ``T_j ∈ [0, max(0, H − d_j)]`` with ``T_j ≥ S_j + p_j − d_j``; minimise
  ``Σ_j w_j T_j`` (``w_j = 1`` unweighted). Minimisation pushes ``T_j`` down to
  ``max(0, C_j − d_j)`` at the optimum; incumbents are re-costed from their
  order anyway, so slack in an intermediate solution cannot leak into results.

Dominance (on by default, ``dominance=False`` gives the plain model): when
``p_i ≤ p_j``, ``d_i ≤ d_j`` and ``w_i ≥ w_j`` some optimal schedule runs ``i``
before ``j`` (proof in :mod:`evaluators.smtt.exact.dominance`); the precedences
``S_i + p_i ≤ S_j`` of the transitive reduction of that order prune CP-SAT's
search while leaving an optimal schedule feasible.

The solver is hinted with the MDD / weighted-MDD order
(:mod:`evaluators.smtt.exact.start`); CP-SAT usually adopts a complete,
feasible hint as its first solution, so even a short time-limited run tends
to return a schedule at least that good.

Model building is split into :func:`add_variables`, :func:`add_constraints`
and :func:`set_objective`; the instance type knows nothing of the solver.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from evaluators.base import Reference, Status
from evaluators.smtt.exact.dominance import covering_pairs, repair_order
from evaluators.smtt.exact.start import greedy_start
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness

METHOD = "cpsat"


@dataclass(frozen=True)
class CpVariables:
    """Decision variables of the CP-SAT model (one entry per job)."""

    start: tuple[cp_model.IntVar, ...]
    interval: tuple[cp_model.IntervalVar, ...]
    tardiness: tuple[cp_model.IntVar, ...]


def add_variables(model: cp_model.CpModel, instance: SmttInstance) -> CpVariables:
    """Starts, fixed-size intervals and tardiness variables."""
    p = [int(a) for a in instance.p]
    d = [int(a) for a in instance.d]
    horizon = sum(p)
    start = tuple(model.new_int_var(0, horizon - p[j], f"S[{j}]") for j in range(len(p)))
    interval = tuple(
        model.new_fixed_size_interval_var(start[j], p[j], f"I[{j}]") for j in range(len(p))
    )
    tardiness = tuple(
        model.new_int_var(0, max(0, horizon - d[j]), f"T[{j}]") for j in range(len(p))
    )
    return CpVariables(start=start, interval=interval, tardiness=tardiness)


def add_constraints(model: cp_model.CpModel, instance: SmttInstance, v: CpVariables) -> None:
    """One machine (no overlap) and tardiness at least lateness."""
    model.add_no_overlap(v.interval)
    for j, (p, d) in enumerate(zip(instance.processing_times, instance.due_dates, strict=True)):
        model.add(v.tardiness[j] >= v.start[j] + int(p) - int(d))


def set_objective(model: cp_model.CpModel, instance: SmttInstance, v: CpVariables) -> None:
    """Minimise total (weighted) tardiness."""
    weights = [int(a) for a in instance.w]
    model.minimize(sum(w * t for w, t in zip(weights, v.tardiness, strict=True)))


def add_dominance(model: cp_model.CpModel, instance: SmttInstance, v: CpVariables) -> None:
    """Precedences ``S_i + p_i ≤ S_j`` along the dominance order's covering pairs."""
    for i, j in covering_pairs(instance):
        model.add(v.start[i] + int(instance.p[i]) <= v.start[j])


def build_model(
    instance: SmttInstance, *, dominance: bool = True
) -> tuple[cp_model.CpModel, CpVariables]:
    """The complete model of ``instance`` (with dominance precedences by default)."""
    model = cp_model.CpModel()
    v = add_variables(model, instance)
    add_constraints(model, instance, v)
    if dominance:
        add_dominance(model, instance, v)
    set_objective(model, instance, v)
    return model, v


def _hint(
    model: cp_model.CpModel, instance: SmttInstance, v: CpVariables, dominance: bool
) -> None:
    order = greedy_start(instance)
    if dominance:
        # Keep the hint feasible for the precedences (never costs more).
        order = repair_order(instance, order)
    t = 0
    for j in order:
        model.add_hint(v.start[j], t)
        t += int(instance.p[j])
        model.add_hint(v.tardiness[j], max(0, t - int(instance.d[j])))


def solve(
    instance: SmttInstance,
    time_limit: float | None = None,
    *,
    num_workers: int = 2,
    hint: bool = True,
    dominance: bool = True,
    seed: int = 0,
) -> Reference:
    """Solve ``instance`` with CP-SAT.

    Parameters
    ----------
    instance
        Weighted or unweighted instance.
    time_limit
        Wall-clock seconds for the search; ``None`` runs to optimality.
    num_workers
        CP-SAT search workers (the machine this was written on has two cores).
    hint
        Start from the MDD / weighted-MDD order (made consistent with the
        dominance precedences when those are on).
    dominance
        Add the dominance precedences (:mod:`~evaluators.smtt.exact.dominance`).
    seed
        CP-SAT's random seed, for repeatable runs.

    Returns
    -------
    Reference
        OPTIMAL when proven; TIMEOUT when a time limit was set and reached
        (``objective`` is the incumbent's true tardiness, ``math.inf`` if none);
        ``lower_bound`` is CP-SAT's best objective bound; ``nodes`` its branches.
    """
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    start = time.perf_counter()
    model, v = build_model(instance, dominance=dominance)
    if hint:
        _hint(model, instance, v, dominance)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    code = solver.solve(model)
    seconds = time.perf_counter() - start

    order: list[int] | None = None
    objective = math.inf
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        starts = [solver.value(s) for s in v.start]
        order = sorted(range(instance.size), key=lambda j: starts[j])
        objective = float(total_tardiness(instance, order))
        if objective > solver.objective_value + 1e-6:
            raise AssertionError(f"order costs {objective}, CP-SAT incumbent "
                                 f"{solver.objective_value}")
    status = _status(code, time_limit)
    if status is Status.OPTIMAL:
        # CP-SAT reports the objective as a float (12.000000000000002 for a weighted
        # optimum of 12): equal up to round-off, not bit for bit.
        if abs(objective - solver.objective_value) > 1e-6:
            raise AssertionError(
                f"optimal CP-SAT value {solver.objective_value} but order costs {objective}"
            )
        lower = objective
    else:
        bound = solver.best_objective_bound
        lower = min(max(0.0, float(math.ceil(bound))), objective) if math.isfinite(bound) else 0.0
    return Reference(
        objective=objective,
        lower_bound=lower,
        status=status,
        method=METHOD,
        seconds=seconds,
        nodes=int(solver.num_branches),
        solution=tuple(order) if order is not None else None,
    )


def _status(code: object, time_limit: float | None) -> Status:
    if code == cp_model.OPTIMAL:
        return Status.OPTIMAL
    if code == cp_model.INFEASIBLE:
        return Status.INFEASIBLE
    if code in (cp_model.FEASIBLE, cp_model.UNKNOWN):
        # The only limit we set is the time limit.
        if time_limit is not None:
            return Status.TIMEOUT
        return Status.FEASIBLE if code == cp_model.FEASIBLE else Status.UNKNOWN
    return Status.UNKNOWN
