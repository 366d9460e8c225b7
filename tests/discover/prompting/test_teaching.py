"""Prompts that teach: per-class gaps, the best program so far, what tuning/structure found."""

from __future__ import annotations

import dataclasses

import pytest

from discover.prompting.render import (
    Operator,
    ProblemView,
    ProgramView,
    PromptContext,
    PromptLibrary,
)
from discover.search.proposer import class_gaps
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem

FINDING = ("#41 from #17: tune: Nelder-Mead on the probe set (12 points), constants [1] -> "
           "[1.36] — training score 1.210 -> 0.975")


def test_class_gaps_worst_first() -> None:
    labels = ["n=20 A", "n=20 A", "n=100 B", "n=100 B", "C"]
    assert class_gaps([1.0, 3.0, 0.5, 0.5, 9.0], labels, worst=2) == (("C", 9.0),
                                                                       ("n=20 A", 2.0))
    assert class_gaps([1.0], ["x", "y"]) == ()  # misaligned: nothing rather than wrong


@pytest.mark.parametrize("op", [Operator.M1, Operator.M2, Operator.E1, Operator.CROSSOVER,
                                Operator.SIMPLIFY])
def test_prompt_shows_class_gaps_best_program_and_findings(op: Operator) -> None:
    parent = ProgramView(SEED_PROGRAMS["edd"], gap=4.2, label="#17",
                         class_gaps=(("n=100 RDD=0.2 TF=0.8", 7.5), ("n=20 RDD=0.6 TF=0.4", 3.25)))
    best = ProgramView(SEED_PROGRAMS["mdd"], gap=1.1, label="#33")
    low, _ = op.parent_range
    context = PromptContext(ProblemView.from_problem(SmttProblem()),
                            parents=(parent,) * max(low, 1), best=best, findings=(FINDING,))
    user = PromptLibrary().render(op, context).user
    assert "Mean gap by instance class, worst first: n=100 RDD=0.2 TF=0.8 7.50 %" in user
    assert "Best program of the run so far (#33)" in user
    assert FINDING in user
    plain = PromptLibrary().render(op, dataclasses.replace(context, best=None, findings=())).user
    assert "Best program of the run so far" not in plain and FINDING not in plain


@pytest.mark.parametrize("op", [Operator.M1, Operator.M2, Operator.E1, Operator.CROSSOVER,
                                Operator.SIMPLIFY])
def test_prompt_shows_the_parents_share_of_the_work_limit(op: Operator) -> None:
    low, _ = op.parent_range
    problem = ProblemView.from_problem(SmttProblem())

    def user(load: float | None) -> str:
        parent = ProgramView(SEED_PROGRAMS["mdd"], gap=1.3, label="#5", load=load)
        context = PromptContext(problem, parents=(parent,) * max(low, 1))
        return PromptLibrary().render(op, context).user

    near = user(0.93)
    assert "uses 93 % of the work allowed on large instances" in near
    assert "close to the runtime gate's work limit" in near
    roomy = user(0.5)
    assert "uses 50 % of the work allowed" in roomy and "work limit" not in roomy
    assert "of the work allowed" not in user(None)  # a run without the gate


def test_a_negative_load_is_refused() -> None:
    with pytest.raises(ValueError, match="load"):
        ProgramView("def f(): pass", load=-0.1)
