"""CP-SAT reference model for J||Cmax: interval variables, no-overlap, minimise makespan.

The classic disjunctive model: one fixed-size interval per operation, job
precedences as linear constraints, one ``AddNoOverlap`` per machine and the
makespan as the maximum job end. The start-time horizon is the makespan of a
dispatching-rule schedule (FDD/MWKR, non-delay), which is also given as a
solution hint, so the solver always has a feasible schedule to improve.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from evaluators.base import Reference, Status
from evaluators.jssp.builder import build, makespan
from evaluators.jssp.instance import JsspInstance
from evaluators.jssp.rules import rule

METHOD = "cpsat"
DETERMINISTIC_METHOD = "cpsat_det"
DEFAULT_TIME_LIMIT = 10.0
WALL_SAFETY = 100.0
"""Wall-clock cap of a deterministic solve, as a multiple of its deterministic limit (at
least :data:`WALL_SAFETY_MIN` seconds). Reaching it makes the result load-dependent
again: 0.5 deterministic seconds took up to 50 s of wall time on a 30x15 shop under
load 15 on 2 cores, so the cap is generous."""
WALL_SAFETY_MIN = 900.0
DEFAULT_WORKERS = 2


def solve_cpsat(
    instance: JsspInstance,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    *,
    num_workers: int = DEFAULT_WORKERS,
    seed: int = 0,
    on_solution: Callable[[float, int], None] | None = None,
    deterministic: bool = False,
) -> Reference:
    """Minimise the makespan of ``instance`` with CP-SAT.

    Parameters
    ----------
    instance
        The instance.
    time_limit
        Wall-clock limit in seconds (``None``: :data:`DEFAULT_TIME_LIMIT`).
    num_workers
        CP-SAT search workers (2 matches the reference figures in the benchmark README).
    seed
        CP-SAT random seed.
    on_solution
        Called as ``on_solution(seconds, makespan)`` for every improving solution
        (seconds since the call started), e.g. to measure time to the optimum.
    deterministic
        Limit the search by CP-SAT's *deterministic* time (``time_limit`` units, about
        a second each on an idle core) with one worker, so the result does not depend
        on the machine's load: a time-limited reference that is not proven optimal
        would otherwise change from run to run, and with it every score trained on it.
        ``num_workers`` is ignored; a generous wall-clock cap (:data:`WALL_SAFETY`)
        stays as a safety net.

    Returns
    -------
    Reference
        ``objective`` the best makespan, ``lower_bound`` CP-SAT's proven bound,
        ``status`` OPTIMAL when proven, TIMEOUT when the time limit stopped
        the search (with or without a schedule, as for every problem),
        ``solution`` the start times (flat, job-major).
    """
    limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    if limit <= 0:
        raise ValueError(f"time_limit must be positive, got {limit}")
    begin = time.perf_counter()
    method = DETERMINISTIC_METHOD if deterministic else METHOD
    hint = build(instance.machines, instance.durations, rule("fdd_mwkr"))
    horizon = makespan(instance.durations, hint)
    model = cp_model.CpModel()
    n_ops = instance.n_ops
    starts = []
    by_machine: dict[int, list[cp_model.IntervalVar]] = {}
    for j, (mrow, drow) in enumerate(zip(instance.machines, instance.durations, strict=True)):
        prev_end = None
        for k, (m, d) in enumerate(zip(mrow, drow, strict=True)):
            s = model.new_int_var(0, horizon - d, f"s{j}_{k}")
            interval = model.new_fixed_size_interval_var(s, d, f"o{j}_{k}")
            by_machine.setdefault(m, []).append(interval)
            if prev_end is not None:
                model.add(s >= prev_end)
            prev_end = s + d
            starts.append(s)
            model.add_hint(s, hint[j * n_ops + k])
    for intervals in by_machine.values():
        model.add_no_overlap(intervals)
    cmax = model.new_int_var(instance.trivial_lower_bound, horizon, "cmax")
    for j in range(instance.n_jobs):
        model.add(cmax >= starts[j * n_ops + n_ops - 1] + instance.durations[j][-1])
    model.minimize(cmax)

    solver = cp_model.CpSolver()
    if deterministic:
        solver.parameters.max_deterministic_time = limit
        solver.parameters.max_time_in_seconds = max(WALL_SAFETY * limit, WALL_SAFETY_MIN)
        solver.parameters.num_workers = 1
    else:
        solver.parameters.max_time_in_seconds = max(limit - (time.perf_counter() - begin), 0.01)
        solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    callback = _Progress(begin, cmax, on_solution) if on_solution is not None else None
    code = solver.solve(model, callback)
    seconds = time.perf_counter() - begin
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value = int(solver.objective_value)
        bound = math.ceil(solver.best_objective_bound - 1e-9)
        # The only limit set is the time limit: a schedule without proof timed out.
        status = Status.OPTIMAL if code == cp_model.OPTIMAL else Status.TIMEOUT
        solution = tuple(int(solver.value(s)) for s in starts)
        return Reference(objective=float(value), lower_bound=float(min(bound, value)),
                         status=status, method=method, seconds=seconds,
                         nodes=int(solver.num_branches), solution=solution)
    if code == cp_model.INFEASIBLE:  # cannot happen: the hint is a feasible schedule
        status = Status.INFEASIBLE
    elif seconds >= limit * 0.99:
        status = Status.TIMEOUT
    else:
        status = Status.UNKNOWN
    return Reference(objective=math.inf, lower_bound=float(instance.trivial_lower_bound),
                     status=status, method=method, seconds=seconds,
                     nodes=int(solver.num_branches))


class _Progress(cp_model.CpSolverSolutionCallback):
    """Forwards each improving makespan to a user callback."""

    def __init__(self, begin: float, cmax: cp_model.IntVar,
                 report: Callable[[float, int], None]) -> None:
        super().__init__()
        self._begin = begin
        self._cmax = cmax
        self._report = report

    def on_solution_callback(self) -> None:
        self._report(time.perf_counter() - self._begin, int(self.value(self._cmax)))
