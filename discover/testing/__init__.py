"""Conformance kit for problems: the checks every problem passes, for plugin authors' tests.

Subclass :class:`ProblemConformance` in your own test module and name your
problem; pytest collects the inherited tests::

    from discover.testing import ProblemConformance

    class TestMyProblem(ProblemConformance):
        problem_spec = "myproblem"          # a name, package.module:factory or file.py

The checks use only the public problem API (:class:`evaluators.base.Problem`):

* the protocol members exist and are consistent (summary heuristics are
  heuristics, the harness imports and defines ``call``, every baseline's
  standalone source defines the candidate function);
* generation is a function of the seed;
* every heuristic's output is accepted, and malformed outputs are rejected
  with a typed reason;
* references are no worse than any heuristic on the self-check samples;
* the seed programs run in the *strict* sandbox (skipped, with the reason, on a
  machine that cannot build it) and their outputs validate;
* a baseline exports to a standalone module whose self-check passes when run
  with a plain ``python`` (no discover needed).

The same functions are importable one by one (``check_*``) for other test
runners; each raises :class:`ConformanceError` with a one-line reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discover.testing.checks import (
    ConformanceError,
    check_export,
    check_generation,
    check_invalid_outputs_rejected,
    check_protocol,
    check_references,
    check_sandbox,
    check_valid_outputs,
    sample_instances,
)

if TYPE_CHECKING:
    from discover.testing.suite import ProblemConformance


def __getattr__(name: str) -> object:
    # The pytest base class is imported on first use: the check_* functions work
    # without pytest installed (other test runners, scripts).
    if name == "ProblemConformance":
        from discover.testing.suite import ProblemConformance

        return ProblemConformance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConformanceError",
    "ProblemConformance",
    "check_export",
    "check_generation",
    "check_invalid_outputs_rejected",
    "check_protocol",
    "check_references",
    "check_sandbox",
    "check_valid_outputs",
    "sample_instances",
]
