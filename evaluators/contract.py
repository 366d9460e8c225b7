"""What an exported module needs from its problem: call adapter, objective, sample instances.

An exported module must run without discover, so everything its self-check
uses is embedded as source: how to call the candidate function on an instance
payload (the problem harness's job inside the sandbox) and how to score the
output (a small standalone objective that also validates the output). The
sample instances come from the problem's own generator and payload, so only
these two snippets are written per problem. A problem hands its contract out
through :meth:`evaluators.base.Problem.export_contract`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CALL_NAME = "_discover_call"
OBJECTIVE_NAME = "_discover_objective"


@dataclass(frozen=True)
class ExportContract:
    """Per-problem pieces of an exported module.

    Parameters
    ----------
    problem
        Problem name.
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
    samples: Callable[[Any], list[Any]]

    def __post_init__(self) -> None:
        for name, source, function in (("call_source", self.call_source, CALL_NAME),
                                       ("objective_source", self.objective_source,
                                        OBJECTIVE_NAME)):
            if f"def {function}(" not in source:
                raise ValueError(f"{name} must define {function}()")
