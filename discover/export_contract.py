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


CONTRACTS: dict[str, ExportContract] = {
    "smtt": ExportContract(
        problem="smtt",
        title="single-machine total tardiness (1||ΣTj)",
        objective_label="total tardiness",
        call_source=_SMTT_CALL,
        objective_source=_SMTT_OBJECTIVE,
        samples=_smtt_samples,
    ),
}


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
    try:
        return CONTRACTS[problem]
    except KeyError:
        known = ", ".join(sorted(CONTRACTS))
        raise KeyError(f"no export contract for problem {problem!r} (available: {known})"
                       ) from None
