"""Rendering every operator prompt, user overrides, and clear template errors."""

# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

import pytest

from discover.answers.extract import extract_code
from discover.prompting.render import (
    BaselineView,
    Operator,
    ProblemView,
    ProgramView,
    PromptContext,
    PromptError,
    PromptLibrary,
)
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem


@pytest.fixture
def smtt_view() -> ProblemView:
    return ProblemView.from_problem(SmttProblem())


@pytest.fixture
def mdd() -> ProgramView:
    return ProgramView(SEED_PROGRAMS["mdd"], gap=1.86, runtime=2.1e-4, ratio=1.0123,
                       idea="modified due date dispatching", label="#7")


@pytest.fixture
def edd() -> ProgramView:
    return ProgramView(SEED_PROGRAMS["edd"], gap=46.61, runtime=1.5e-5, ratio=1.31, label="#2")


@pytest.fixture
def spt() -> ProgramView:
    return ProgramView(SEED_PROGRAMS["spt"], gap=120.4, runtime=1.2e-5, label="#3")


@pytest.fixture
def context(smtt_view: ProblemView, mdd: ProgramView, edd: ProgramView, spt: ProgramView) -> PromptContext:
    return PromptContext(
        smtt_view,
        (mdd, edd, spt),
        long_reflection="Weigh slack against processing time; keep the rule O(n^2).",
        short_reflections=("Accounting for the current time beats static due dates.",),
        baselines=(BaselineView("EDD", 46.61, 1.5e-5), BaselineView("MDD", 1.86, 2.1e-4, 1.0123)),
    )


def for_operator(context: PromptContext, op: Operator, diff: bool = False) -> PromptContext:
    low, high = op.parent_range
    count = len(context.parents) if high is None else low  # e1/e2 see every parent
    return PromptContext(context.problem, context.parents[:count], context.long_reflection,
                         context.short_reflections, context.baselines, diff)


@pytest.mark.parametrize("op", list(Operator))
def test_every_operator_renders_with_realistic_context(context: PromptContext, op: Operator) -> None:
    prompt = PromptLibrary().render(op, for_operator(context, op))
    assert prompt.operator is op and prompt.origin == f"packaged {op.template}"
    assert "SMTT" in prompt.system and "numpy" in prompt.system
    user = prompt.user
    assert "single-machine total tardiness" in user.lower()
    assert "Return a processing order" in user  # the candidate docstring
    shown = for_operator(context, op).parents
    for parent in shown:
        assert parent.code.strip() in user
        assert f"{parent.gap:.2f} %" in user
    if op.is_reflection:
        assert "IDEA:" not in user and "without code" in user
    else:
        assert "IDEA:" in user and "ONE ```python code block" in user
        assert SmttProblem.candidate_spec.signature in user
    if op is not Operator.REFLECT_SHORT:
        assert "Weigh slack against processing time" in user
    assert "{{" not in user and "{%" not in user


def test_scores_formatted_with_units(context: PromptContext) -> None:
    user = PromptLibrary().render(Operator.M1, for_operator(context, Operator.M1)).user
    assert "mean gap to optimum 1.86 % · ΣH/ΣOPT 1.0123 · runtime 210 µs per instance" in user
    assert "Idea: modified due date dispatching" in user
    assert "- EDD: mean gap to optimum 46.61 %" in user


def test_two_parent_operators_order_by_gap(context: PromptContext, mdd: ProgramView, edd: ProgramView) -> None:
    swapped = PromptContext(context.problem, (edd, mdd))
    user = PromptLibrary().render(Operator.CROSSOVER, swapped).user
    assert user.index("Better parent (#7)") < user.index("Worse parent (#2)")
    unscored = PromptContext(context.problem, (ProgramView("x = 1", label="A"), ProgramView("y = 2", label="B")))
    user = PromptLibrary().render(Operator.REFLECT_SHORT, unscored).user
    assert user.index("(A)") < user.index("(B)") and "not scored yet" in user


@pytest.mark.parametrize("op", [Operator.M1, Operator.M2, Operator.SIMPLIFY])
def test_diff_mode_asks_for_search_replace(context: PromptContext, op: Operator) -> None:
    user = PromptLibrary().render(op, for_operator(context, op, diff=True)).user
    assert "<<<<<<< SEARCH" in user and ">>>>>>> REPLACE" in user and "=======" in user
    assert "ONE ```python code block" not in user


def test_parent_code_shown_verbatim_with_blank_lines(smtt_view: ProblemView) -> None:
    code = "import math\n\n\n\ndef schedule(processing_times, due_dates):\n    return []\n"
    user = PromptLibrary().render(Operator.M1, PromptContext(smtt_view, (ProgramView(code),))).user
    assert code.strip() in user
    assert "\n\n\n" not in user.replace(code.strip(), "")


def test_rendered_code_op_prompt_extracts_nothing_by_itself(context: PromptContext) -> None:
    # Parents' code is in the prompt, never in the answer: a model echoing only the prompt's
    # format description (no code) must not yield a program.
    user = PromptLibrary().render(Operator.I1, for_operator(context, Operator.I1)).user
    assert not extract_code(user.split("## Answer format")[1], "schedule").ok


def test_context_errors(context: PromptContext, mdd: ProgramView) -> None:
    library = PromptLibrary()
    with pytest.raises(PromptError, match="crossover needs 2 parent"):
        library.render(Operator.CROSSOVER, PromptContext(context.problem, (mdd,)))
    with pytest.raises(PromptError, match="m1 needs 1 parent"):
        library.render("m1", PromptContext(context.problem, ()))
    with pytest.raises(PromptError, match="does not support diff"):
        library.render(Operator.E1, PromptContext(context.problem, (mdd,), diff=True))
    with pytest.raises(PromptError, match="unknown operator 'm9'"):
        library.render("m9", context)
    with pytest.raises(ValueError, match="finite"):
        ProgramView("x", gap=float("nan"))


def test_user_directory_overrides_by_name_and_falls_back(tmp_path: Path, context: PromptContext) -> None:
    (tmp_path / "m1.j2").write_text("Improve {{ parent.label }} for {{ problem.name }}.\n")
    (tmp_path / "problems").mkdir()
    (tmp_path / "problems" / "smtt.j2").write_text("CUSTOM SMTT CONTEXT\n")
    library = PromptLibrary(tmp_path)
    m1 = library.render(Operator.M1, for_operator(context, Operator.M1))
    assert m1.user == "Improve #7 for smtt.\n" and m1.origin == str(tmp_path / "m1.j2")
    m2 = library.render(Operator.M2, for_operator(context, Operator.M2))
    assert m2.origin == "packaged m2.j2" and "CUSTOM SMTT CONTEXT" in m2.user
    assert "Single-machine total tardiness scheduling" not in m2.user
    assert "You are an expert" in m2.system


def test_unknown_problem_uses_generic_context(context: PromptContext) -> None:
    other = ProblemView("zzunknownshop", "Some shop.", "sequence",
                        "def sequence(times):", "Return an order.", ("math",))
    user = PromptLibrary().render(Operator.I1, PromptContext(other)).user
    assert "## The problem: zzunknownshop" in user and "def sequence(times):" in user


def test_undefined_variable_in_user_template_names_file_and_line(
    tmp_path: Path, context: PromptContext
) -> None:
    (tmp_path / "m2.j2").write_text("line one\n{{ parent.code }}\n{{ parent.score }}\n")
    with pytest.raises(PromptError) as info:
        PromptLibrary(tmp_path).render(Operator.M2, for_operator(context, Operator.M2))
    error = info.value
    assert error.origin == str(tmp_path / "m2.j2") and error.line == 3
    assert "m2.j2" in str(error) and "line 3" in str(error) and "score" in str(error)


def test_syntax_error_in_included_user_template(tmp_path: Path, context: PromptContext) -> None:
    (tmp_path / "_macros.j2").write_text("{% macro score_line(p) %}\n{{ p.gap \n{% endmacro %}\n")
    with pytest.raises(PromptError) as info:
        PromptLibrary(tmp_path).render(Operator.M1, for_operator(context, Operator.M1))
    assert info.value.template == "_macros.j2"
    assert info.value.origin == str(tmp_path / "_macros.j2")
    assert "syntax error" in str(info.value) and info.value.line is not None


def test_check_catches_a_broken_template_before_the_run(tmp_path: Path, context: PromptContext) -> None:
    PromptLibrary().check(context)
    (tmp_path / "reflect_long.j2").write_text("{{ nonsense }}")
    with pytest.raises(PromptError, match=r"reflect_long\.j2"):
        PromptLibrary(tmp_path).check(context)


def test_missing_directory_and_traversal(tmp_path: Path, context: PromptContext) -> None:
    with pytest.raises(PromptError, match="does not exist"):
        PromptLibrary(tmp_path / "nope")
    (tmp_path / "m1.j2").write_text('{% include "../secret.j2" %}')
    (tmp_path.parent / "secret.j2").write_text("SECRET")
    with pytest.raises(PromptError, match="not found"):
        PromptLibrary(tmp_path).render(Operator.M1, for_operator(context, Operator.M1))
