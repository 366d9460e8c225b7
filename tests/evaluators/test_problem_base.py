"""The defaults of :class:`evaluators.problem_base.ProblemBase` (optional protocol members)."""

from __future__ import annotations

import pytest

from evaluators.problem_base import ProblemBase
from evaluators.registry import get_problem


def test_reference_heuristic_defaults_to_the_configured_rule() -> None:
    """Problems that do not override the hook compare programs with the rule of the
    configured name, as before the hook existed."""

    class Bare(ProblemBase):
        name = "bare"

    assert Bare().reference_heuristic("anything") == "anything"


@pytest.mark.parametrize(("spec", "rule"), [("smtt", "mdd"), ("jssp", "mwkr"),
                                            ("serving", "fcfs"), ("flowshop", "neh")])
def test_built_in_and_plugin_problems_keep_their_reference_rule(spec: str, rule: str) -> None:
    if spec == "flowshop":
        pytest.importorskip("flowshop", reason="the example plugin is not installed: "
                            "pip install --no-deps -e examples/flowshop")
    problem = get_problem(spec)
    configured = problem.run_defaults.get("evaluation.runtime_reference", "mdd")
    assert configured == rule
    assert problem.reference_heuristic(configured) == rule and rule in problem.heuristics
