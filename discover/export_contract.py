"""What an exported module needs from its problem: call adapter, objective, sample instances.

An exported module must run without discover, so everything its self-check
uses is embedded as source: how to call the candidate function on an instance
payload (the problem harness's job inside the sandbox) and how to score the
output (a small standalone objective that also validates the output). The
sample instances come from the problem's own generator and payload, so only
these two snippets are written per problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluators.base import GeneratorSpec, Problem

CALL_NAME = "_discover_call"
OBJECTIVE_NAME = "_discover_objective"


@dataclass(frozen=True)
class ExportContract:
    """Per-problem pieces of an exported module.

    Parameters
    ----------
    problem
        Problem name (registry key).
    title
        One line naming the problem, for the module docstring.
    objective_label
        What the objective is called in the self-check message.
    call_source
        Standalone source defining ``_discover_call(function, payload)``: call the
        candidate on a payload (:meth:`Problem.payload`) the way the harness does.
    objective_source
        Standalone source defining ``_discover_objective(payload, output) -> float``:
        validate the output and compute the objective (lower is better). Standard
        library only.
    samples
        ``samples(problem)`` returns the small instances embedded for the self-check.
    """

    problem: str
    title: str
    objective_label: str
    call_source: str
    objective_source: str
    samples: Callable[[Problem[Any]], list[Any]]

    def __post_init__(self) -> None:
        for name, source, function in (("call_source", self.call_source, CALL_NAME),
                                       ("objective_source", self.objective_source,
                                        OBJECTIVE_NAME)):
            if f"def {function}(" not in source:
                raise ValueError(f"{name} must define {function}()")


_SMTT_CALL = '''\
def _discover_call(function, payload):
    """Call the heuristic on fresh copies of the instance data (as discover's harness does)."""
    return function(list(payload["processing_times"]), list(payload["due_dates"]))
'''

_SMTT_OBJECTIVE = '''\
def _discover_objective(payload, output):
    """Total tardiness of the job order ``output``; raises ValueError if it is not one."""
    import operator

    p = payload["processing_times"]
    d = payload["due_dates"]
    n = len(p)
    try:
        order = [operator.index(j) for j in output]  # rejects floats such as 3.0
    except TypeError as exc:
        raise ValueError(f"the order must contain integer job indices: {exc}") from None
    if sorted(order) != list(range(n)):
        raise ValueError(f"the order is not a permutation of range({n}): {order}")
    t = 0
    total = 0
    for j in order:
        t += p[j]
        total += max(0, t - d[j])
    return float(total)
'''


def _smtt_samples(problem: Problem[Any]) -> list[Any]:
    # Fixed seed and classes with real tardiness, so the expected objectives are
    # non-zero and sensitive to the order.
    rng = np.random.default_rng(20251125)
    instances = []
    for rdd, tf in ((0.2, 0.6), (0.6, 0.4), (1.0, 0.8)):
        spec = GeneratorSpec(n=12, count=1, params={"rdd": rdd, "tf": tf})
        instances.extend(problem.generate(spec, rng))
    return instances


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


def _jssp_samples(problem: Problem[Any]) -> list[Any]:
    rng = np.random.default_rng(20251125)
    return problem.generate(GeneratorSpec(n=6, count=3, params={"machines": 4}), rng)


CONTRACTS: dict[str, ExportContract] = {
    "jssp": ExportContract(
        problem="jssp",
        title="job-shop scheduling (J||Cmax), a priority rule in a Giffler-Thompson builder",
        objective_label="makespan",
        call_source=_JSSP_CALL,
        objective_source=_JSSP_OBJECTIVE,
        samples=_jssp_samples,
    ),
    "smtt": ExportContract(
        problem="smtt",
        title="single-machine total tardiness (1||ΣTj)",
        objective_label="total tardiness",
        call_source=_SMTT_CALL,
        objective_source=_SMTT_OBJECTIVE,
        samples=_smtt_samples,
    ),
}


def _serving_contract() -> ExportContract:
    from evaluators.serving.export import CALL_SOURCE, OBJECTIVE_SOURCE, export_samples

    return ExportContract(
        problem="serving",
        title="LLM-serving request scheduling (a priority policy in a batching simulator)",
        objective_label="score",
        call_source=CALL_SOURCE,
        objective_source=OBJECTIVE_SOURCE,
        samples=export_samples,
    )


def register_contract(contract: ExportContract) -> None:
    """Make ``contract`` the export contract of ``contract.problem`` (replacing any)."""
    CONTRACTS[contract.problem] = contract


def contract_for(problem: str) -> ExportContract:
    """The export contract of ``problem``.

    Raises
    ------
    KeyError
        When the problem has none yet (the message lists those that do).
    """
    if problem == "serving" and problem not in CONTRACTS:
        # Built on first use: the serving evaluator is only imported when needed.
        CONTRACTS[problem] = _serving_contract()
    try:
        return CONTRACTS[problem]
    except KeyError:
        known = ", ".join(sorted(CONTRACTS))
        raise KeyError(f"no export contract for problem {problem!r} (available: {known})"
                       ) from None
