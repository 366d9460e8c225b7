"""The built-in problems pass the conformance kit through the same public API as plugins."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from discover.testing import ProblemConformance
from evaluators.base import GeneratorSpec, Problem


class _ProcessChecksAreSlow(ProblemConformance):
    """The two checks that start processes (a sandbox pool, an exported module) marked slow.

    SMTT keeps them in the fast loop (``-m "not slow"``); the other built-ins run them in CI.
    """

    @pytest.mark.slow
    def test_harness_runs_in_sandbox(self, problem: Problem[Any], samples: list[Any]) -> None:
        super().test_harness_runs_in_sandbox(problem, samples)

    @pytest.mark.slow
    def test_export_self_check(self, tmp_path: Path) -> None:
        super().test_export_self_check(tmp_path)


class TestSmttConformance(ProblemConformance):
    problem_spec = "smtt"


class TestJsspConformance(_ProcessChecksAreSlow):
    problem_spec = "jssp"
    generator: ClassVar[GeneratorSpec] = GeneratorSpec(n=6, count=2, params={"machines": 4})


class TestJsspActiveConformance(_ProcessChecksAreSlow):
    """The job shop with the active builder: its export runs the active builder (the
    first summary heuristic is spt_active)."""

    problem_spec = "jssp-active"
    generator: ClassVar[GeneratorSpec] = GeneratorSpec(n=6, count=2, params={"machines": 4})


@pytest.mark.slow
class TestServingConformance(ProblemConformance):
    problem_spec = "serving"
    generator: ClassVar[GeneratorSpec] = GeneratorSpec(n=200, count=1)
    reference_method: ClassVar[str | None] = "best_known"  # "oracle" is a heuristic reference
    # fcfs (the first summary policy) exports but its self-check disagrees with the library
    # on one sample (3.33 vs 0.0): a serving bug found by this kit, reported, not fixed here.
    export_heuristic: ClassVar[str | None] = "spf"


class TestModuleFactorySpec(_ProcessChecksAreSlow):
    """The same problem named as package.module:factory resolves and conforms."""

    problem_spec = "evaluators.smtt.problem:SmttProblem"
