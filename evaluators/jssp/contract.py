"""Export contract of the job shop: call adapter, standalone objective, self-check samples."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluators.base import GeneratorSpec
from evaluators.contract import ExportContract

_JSSP_CALL = '''\
def _discover_call(function, payload):
    """Build a schedule with the rule, as discover's harness does (flat start times).

    The builder variant is the module's own (``VARIANT``), which an active-schedule
    rule sets to "active" whatever the payload's default.
    """
    return _gt_build(payload["machines"], payload["durations"], function, VARIANT)
'''

_JSSP_OBJECTIVE = '''\
def _discover_objective(payload, output):
    """Makespan of the flat start times ``output``; raises ValueError if infeasible."""
    machines, durations = payload["machines"], payload["durations"]
    n_ops = len(machines[0])
    if len(output) != len(machines) * n_ops or any(type(s) is not int for s in output):
        raise ValueError("expected one integer start time per operation")
    busy = {}
    end = 0
    for j, (row_m, row_d) in enumerate(zip(machines, durations)):
        ready = 0
        for k, (m, d) in enumerate(zip(row_m, row_d)):
            s = output[j * n_ops + k]
            if s < ready:
                raise ValueError(f"job {j} operation {k} starts before its predecessor ends")
            ready = s + d
            end = max(end, ready)
            if d > 0:
                busy.setdefault(m, []).append((s, s + d))
    for m, spans in busy.items():
        spans.sort()
        for (_, e1), (s2, _) in zip(spans, spans[1:]):
            if s2 < e1:
                raise ValueError(f"operations overlap on machine {m}")
    return float(end)
'''


def _jssp_samples(problem: Any) -> list[Any]:
    rng = np.random.default_rng(20251125)
    return problem.generate(GeneratorSpec(n=6, count=3, params={"machines": 4}), rng)


CONTRACT = ExportContract(
    problem="jssp",
    title="job-shop scheduling (J||Cmax), a priority rule in a Giffler-Thompson builder",
    objective_label="makespan",
    call_source=_JSSP_CALL,
    objective_source=_JSSP_OBJECTIVE,
    samples=_jssp_samples,
)
