"""Positional-assignment MIP for 1||ΣTj and 1||ΣwjTj (OR-Tools ``pywraplp``).

Formulation
-----------
Positions ``k = 0..n-1``; jobs ``j = 0..n-1``.

* ``x[j,k] ∈ {0,1}``: job ``j`` is in position ``k``;
  ``Σ_k x[j,k] = 1`` for every job and ``Σ_j x[j,k] = 1`` for every position.
* ``C[k]``: completion time of position ``k``;
  ``C[0] = Σ_j p_j x[j,0]`` and ``C[k] = C[k-1] + Σ_j p_j x[j,k]``.
  The bounds ``Σ`` (k+1 smallest p) ``≤ C[k] ≤ Σ`` (k+1 largest p) are valid
  for every order and are set as variable bounds.

Unweighted (Keha, Khowala & Fowler 2009, the positional-date formulation the
seed paper used): ``T[k] ≥ C[k] − Σ_j d_j x[j,k]``, ``T[k] ≥ 0``,
minimise ``Σ_k T[k]``. Exactly one ``x[j,k]`` is 1 per position, so
``Σ_j d_j x[j,k]`` is the due date of the job in position ``k`` and no big-M
is needed.

Weighted: the same trick fails because ``w_j · max(0, C[k] − d_j)`` is a product
of the assignment and the completion time. Each position gets a *weighted*
tardiness ``W[k] ≥ 0`` with one big-M row per (job, position):

    W[k] ≥ w_j · (C[k] − d_j) − w_j · M[j,k] · (1 − x[j,k]),
    M[j,k] = max(0, Cmax[k] − d_j),

where ``Cmax[k]`` is the upper bound on ``C[k]`` above; with ``x[j,k] = 0`` the
right-hand side is ≤ 0 and the row is void, with ``x[j,k] = 1`` it is the
weighted tardiness of ``j``. Rows with ``M[j,k] = 0`` (job ``j`` can never be
late in position ``k``) are omitted. Minimise ``Σ_k W[k]``.

All data are integers, so the optimum is an integer and the solver's dual
bound is rounded *up* (minus a tolerance) to give ``lower_bound``.

The instance type knows nothing of the solver: :func:`build_model` is split
into :func:`add_variables`, :func:`add_constraints` and :func:`set_objective`.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from evaluators.base import Reference, Status
from evaluators.smtt.exact.start import greedy_start
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness

METHOD = "mip"

# Integer data: a dual bound within this of an integer is that integer.
_BOUND_TOL = 1e-6


class MipBackend(enum.Enum):
    """MIP engine behind ``pywraplp``."""

    SCIP = "SCIP"
    CP_SAT = "CP_SAT"


@dataclass(frozen=True)
class MipVariables:
    """Decision variables of the positional model.

    Attributes
    ----------
    x
        ``x[j][k]``: job ``j`` in position ``k`` (binary).
    completion
        ``C[k]``: completion time of position ``k``.
    tardiness
        ``T[k]`` (unweighted) or ``W[k]`` (weighted): tardiness charged to position ``k``.
    """

    x: tuple[tuple[pywraplp.Variable, ...], ...]
    completion: tuple[pywraplp.Variable, ...]
    tardiness: tuple[pywraplp.Variable, ...]


def completion_bounds(instance: SmttInstance) -> tuple[np.ndarray, np.ndarray]:
    """Valid lower and upper bounds on the completion time of each position.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        ``(low, high)``: ``low[k]`` sums the ``k+1`` shortest jobs, ``high[k]`` the
        ``k+1`` longest.
    """
    p = np.sort(instance.p)
    return np.cumsum(p), np.cumsum(p[::-1])


def add_variables(solver: pywraplp.Solver, instance: SmttInstance) -> MipVariables:
    """Create ``x``, ``C`` and the positional tardiness variables."""
    n = instance.size
    low, high = completion_bounds(instance)
    x = tuple(tuple(solver.BoolVar(f"x[{j},{k}]") for k in range(n)) for j in range(n))
    completion = tuple(
        solver.NumVar(float(low[k]), float(high[k]), f"C[{k}]") for k in range(n)
    )
    tardiness = tuple(solver.NumVar(0.0, solver.infinity(), f"T[{k}]") for k in range(n))
    return MipVariables(x=x, completion=completion, tardiness=tardiness)


def add_constraints(
    solver: pywraplp.Solver, instance: SmttInstance, v: MipVariables
) -> None:
    """Assignment, completion-time chain and tardiness rows (see module docstring)."""
    n = instance.size
    p = [int(a) for a in instance.p]
    d = [int(a) for a in instance.d]
    for j in range(n):
        solver.Add(sum(v.x[j][k] for k in range(n)) == 1, f"job[{j}]")
    for k in range(n):
        solver.Add(sum(v.x[j][k] for j in range(n)) == 1, f"pos[{k}]")
    for k in range(n):
        work = sum(p[j] * v.x[j][k] for j in range(n))
        previous = v.completion[k - 1] if k > 0 else 0
        solver.Add(v.completion[k] == previous + work, f"chain[{k}]")
    if not instance.is_weighted:
        for k in range(n):
            due = sum(d[j] * v.x[j][k] for j in range(n))
            solver.Add(v.tardiness[k] >= v.completion[k] - due, f"tardy[{k}]")
        return
    w = [int(a) for a in instance.w]
    _, high = completion_bounds(instance)
    for k in range(n):
        for j in range(n):
            big_m = max(0, int(high[k]) - d[j])
            if big_m == 0:
                continue  # job j cannot be late in position k
            solver.Add(
                v.tardiness[k]
                >= w[j] * (v.completion[k] - d[j]) - w[j] * big_m * (1 - v.x[j][k]),
                f"wtardy[{j},{k}]",
            )


def set_objective(solver: pywraplp.Solver, v: MipVariables) -> None:
    """Minimise the summed positional (weighted) tardiness."""
    solver.Minimize(sum(v.tardiness))


def build_model(
    instance: SmttInstance, backend: MipBackend = MipBackend.SCIP
) -> tuple[pywraplp.Solver, MipVariables]:
    """Create a solver holding the full model of ``instance``.

    Raises
    ------
    RuntimeError
        If OR-Tools was built without ``backend``.
    """
    solver = pywraplp.Solver.CreateSolver(backend.value)
    if solver is None:
        raise RuntimeError(f"OR-Tools has no {backend.value} backend in this build")
    v = add_variables(solver, instance)
    add_constraints(solver, instance, v)
    set_objective(solver, v)
    return solver, v


def _hint(
    solver: pywraplp.Solver, instance: SmttInstance, v: MipVariables, order: list[int]
) -> None:
    """Hint a complete solution (x, C and T), so no backend has to repair it."""
    n = len(order)
    position = {j: k for k, j in enumerate(order)}
    variables = [v.x[j][k] for j in range(n) for k in range(n)]
    values = [1.0 if position[j] == k else 0.0 for j in range(n) for k in range(n)]
    completion = np.cumsum(instance.p[order])
    tardy = np.maximum(completion - instance.d[order], 0) * instance.w[order]
    variables += [*v.completion, *v.tardiness]
    values += [float(c) for c in completion] + [float(t) for t in tardy]
    solver.SetHint(variables, values)


def _read_order(v: MipVariables) -> list[int]:
    n = len(v.completion)
    values = np.array([[v.x[j][k].solution_value() for k in range(n)] for j in range(n)])
    order = [int(j) for j in values.argmax(axis=0)]
    if sorted(order) != list(range(n)):
        raise AssertionError(f"MIP assignment is not a permutation: {order}")
    return order


def solve(
    instance: SmttInstance,
    time_limit: float | None = None,
    *,
    backend: MipBackend = MipBackend.SCIP,
    threads: int = 1,
    hint: bool = True,
    solver_parameters: str = "",
) -> Reference:
    """Solve ``instance`` with the positional MIP.

    Parameters
    ----------
    instance
        Weighted or unweighted instance.
    time_limit
        Wall-clock seconds for the solver (model building excluded from the
        limit but included in ``seconds``); ``None`` runs to optimality.
    backend
        ``MipBackend.SCIP`` (default, as the seed paper) or ``MipBackend.CP_SAT``.
    threads
        Solver threads (SCIP uses one regardless).
    hint
        Start from the MDD / weighted-MDD order (:mod:`~evaluators.smtt.exact.start`).
    solver_parameters
        Backend-specific parameter text passed through unchanged, e.g.
        ``"separating/maxroundsroot = 3"`` for SCIP (its root cut rounds can
        take most of the time on small models).

    Returns
    -------
    Reference
        ``status`` is OPTIMAL when proven, TIMEOUT when a time limit was set and
        reached (``objective`` is the incumbent's true tardiness, ``math.inf`` if
        there is none), FEASIBLE for an unproven stop without a limit.
        ``lower_bound`` is the rounded-up dual bound; ``nodes`` the B&B nodes.
    """
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    start = time.perf_counter()
    solver, v = build_model(instance, backend)
    if time_limit is not None:
        solver.SetTimeLimit(max(1, round(time_limit * 1000)))
    solver.SetNumThreads(threads)
    if solver_parameters and not solver.SetSolverSpecificParametersAsString(solver_parameters):
        raise ValueError(f"{backend.value} rejected parameters {solver_parameters!r}")
    if hint:
        _hint(solver, instance, v, greedy_start(instance))
    code = solver.Solve()
    seconds = time.perf_counter() - start

    has_solution = code in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
    order = _read_order(v) if has_solution else None
    objective = float(total_tardiness(instance, order)) if order is not None else math.inf
    if order is not None:
        reported = solver.Objective().Value()
        # Slack in T[k] can only overstate the incumbent, never understate it.
        if objective > reported + 1e-4 * max(1.0, abs(reported)):
            raise AssertionError(f"order costs {objective}, MIP incumbent {reported}")
    status = _status(code, time_limit)
    if status is Status.OPTIMAL:
        lower = objective
        if abs(objective - round(solver.Objective().Value())) > 0.5:
            raise AssertionError(
                f"optimal MIP value {solver.Objective().Value()} but order costs {objective}"
            )
    else:
        lower = _rounded_bound(solver.Objective().BestBound(), objective)
    return Reference(
        objective=objective,
        lower_bound=lower,
        status=status,
        method=METHOD,
        seconds=seconds,
        # pywraplp's CP-SAT wrapper does not report a node count.
        nodes=int(solver.nodes()) if backend is MipBackend.SCIP else None,
        solution=tuple(order) if order is not None else None,
    )


def _status(code: int, time_limit: float | None) -> Status:
    if code == pywraplp.Solver.OPTIMAL:
        return Status.OPTIMAL
    if code == pywraplp.Solver.INFEASIBLE:
        return Status.INFEASIBLE
    if code in (pywraplp.Solver.FEASIBLE, pywraplp.Solver.NOT_SOLVED):
        # The only limit we set is the time limit.
        if time_limit is not None:
            return Status.TIMEOUT
        return Status.FEASIBLE if code == pywraplp.Solver.FEASIBLE else Status.UNKNOWN
    return Status.UNKNOWN


def _rounded_bound(bound: float, objective: float) -> float:
    """Dual bound rounded up to an integer, clipped to ``[0, objective]``."""
    if not math.isfinite(bound):
        return 0.0
    lower = max(0.0, float(math.ceil(bound - _BOUND_TOL)))
    return min(lower, objective)

