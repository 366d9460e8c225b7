"""CP-SAT reference for Fm|prmu|Cmax: intervals per machine, one order for all machines.

For every pair of jobs a Boolean says which goes first; the same literal orders
the pair on every machine, which is exactly the permutation constraint. Each
machine also gets a no-overlap constraint (redundant, but it strengthens the
propagation). NEH's sequence is the hint. Meant for the small training
instances (n ≤ ~30); larger ones time out with a feasible value.
"""

from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from evaluators.base import Reference, Status
from flowshop.baselines import compile_baseline
from flowshop.instance import FlowshopInstance
from flowshop.objective import makespan

METHOD = "cpsat"
DEFAULT_TIME_LIMIT = 10.0


def solve_cpsat(instance: FlowshopInstance, time_limit: float | None = None, *,
                num_workers: int = 1, seed: int = 0) -> Reference:
    """Minimise the makespan with CP-SAT within ``time_limit`` seconds."""
    limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    if limit <= 0:
        raise ValueError(f"time_limit must be positive, got {limit}")
    begin = time.perf_counter()
    p = instance.processing_times
    m, n = instance.machines, instance.size
    hint_order = compile_baseline("neh")(instance.jobs_major())
    horizon = makespan(instance, hint_order)
    lower = instance.trivial_lower_bound()
    model = cp_model.CpModel()
    start = [[model.new_int_var(0, horizon - p[i][j], f"s{i}_{j}") for j in range(n)]
             for i in range(m)]
    for i in range(m):
        model.add_no_overlap([model.new_fixed_size_interval_var(start[i][j], p[i][j],
                                                                f"o{i}_{j}")
                              for j in range(n)])
        if i:
            for j in range(n):
                model.add(start[i][j] >= start[i - 1][j] + p[i - 1][j])
    position = {j: k for k, j in enumerate(hint_order)}
    for a in range(n):
        for b in range(a + 1, n):
            before = model.new_bool_var(f"b{a}_{b}")
            model.add_hint(before, position[a] < position[b])
            for i in range(m):
                model.add(start[i][b] >= start[i][a] + p[i][a]).only_enforce_if(before)
                model.add(start[i][a] >= start[i][b] + p[i][b]).only_enforce_if(~before)
    cmax = model.new_int_var(lower, horizon, "cmax")
    for j in range(n):
        model.add(cmax >= start[m - 1][j] + p[m - 1][j])
    model.minimize(cmax)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(limit - (time.perf_counter() - begin), 0.01)
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    code = solver.solve(model)
    seconds = time.perf_counter() - begin
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value = int(solver.objective_value)
        bound = math.ceil(solver.best_objective_bound - 1e-9)
        order = tuple(sorted(range(n), key=lambda j: (solver.value(start[0][j]), j)))
        return Reference(objective=float(value), lower_bound=float(min(bound, value)),
                         status=Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE,
                         method=METHOD, seconds=seconds, nodes=int(solver.num_branches),
                         solution=order)
    # No solution within the limit (the hint did not take): NEH's value stands.
    return Reference(objective=float(horizon), lower_bound=float(lower), status=Status.FEASIBLE,
                     method=METHOD, seconds=seconds, solution=tuple(hint_order))
