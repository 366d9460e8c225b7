"""The conformance checks catch broken problems (they are not tests that cannot fail)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest

from discover.testing import (
    ConformanceError,
    check_invalid_outputs_rejected,
    check_protocol,
    check_references,
    check_valid_outputs,
    sample_instances,
)
from evaluators.base import Reference, Status
from evaluators.smtt.problem import SmttProblem


class _Lenient(SmttProblem):
    def validate(self, instance: Any, raw_output: object) -> Any:
        return list(range(instance.size))  # accepts anything


class _BadReference(SmttProblem):
    def reference(self, instance: Any, method: str, time_limit: float | None = None
                  ) -> Reference:
        return Reference(objective=1e9, lower_bound=0.0, status=Status.FEASIBLE,
                         method=method, seconds=0.0)


class _BadSummary(SmttProblem):
    summary_heuristics = ("edd", "no_such_rule")


class _BadReferenceHeuristic(SmttProblem):
    run_defaults: ClassVar[Mapping[str, Any]] = {"evaluation.runtime_reference": "mdd"}

    def reference_heuristic(self, rule: str) -> str:
        return f"{rule}_elsewhere"  # names no heuristic


class _BrokenHeuristic(SmttProblem):
    heuristics: ClassVar[Mapping[str, Any]] = {"broken": lambda inst: [0] * inst.size}

    def baseline_source(self, name: str) -> str:
        return "def schedule(processing_times, due_dates):\n    return []\n"

    summary_heuristics: Sequence[str] = ()  # type: ignore[assignment]


def test_lenient_validation_is_caught() -> None:
    problem = _Lenient()
    with pytest.raises(ConformanceError, match="accepted None"):
        check_invalid_outputs_rejected(problem, sample_instances(problem))


def test_reference_worse_than_a_baseline_is_caught() -> None:
    problem = _BadReference()
    with pytest.raises(ConformanceError, match="is worse than"):
        check_references(problem, sample_instances(problem)[:1])


def test_unknown_summary_heuristic_is_caught() -> None:
    with pytest.raises(ConformanceError, match="no_such_rule"):
        check_protocol(_BadSummary())


def test_reference_heuristic_that_is_no_heuristic_is_caught() -> None:
    with pytest.raises(ConformanceError, match="reference_heuristic\\('mdd'\\) = 'mdd_elsewhere'"):
        check_protocol(_BadReferenceHeuristic())


def test_invalid_heuristic_output_is_caught() -> None:
    problem = _BrokenHeuristic()
    with pytest.raises(ConformanceError, match="heuristic broken rejected"):
        check_valid_outputs(problem, sample_instances(problem))
