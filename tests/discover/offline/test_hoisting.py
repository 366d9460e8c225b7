"""Instance-level weights: emitted computed once, edited in place (discover.offline.hoisting)."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.offline import OfflineEngine, ParentInfo
from discover.offline.hoisting import emitted, expand
from discover.offline.sites import find_function
from discover.offline.tuning import tune
from evaluators.smtt.generate import generate_classes
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem
from sandbox.steps import StepCounter, traced

SPEC = SmttProblem.candidate_spec
HEADER = '''
def schedule(processing_times, due_dates):
    p_total_all = sum((processing_times[i] for i in range(len(processing_times))))
    d_mean_all = sum((due_dates[i] for i in range(len(due_dates)))) / max(len(due_dates), 1)
    _inst0 = 1 - d_mean_all / max(p_total_all, 1)
    n = len(processing_times)
    remaining = list(range(n))
    order = []
    t = 0
    while remaining:
        best = min(remaining, key=lambda j: (KEY, j))
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
    return order
'''
#: Weights in the places the engine writes them: a descriptor-weighted term with a
#: coefficient (insert_term), an adapted coefficient (adapt_coefficient), a guarded ratio.
KEY = ("max(t + processing_times[j], due_dates[j]) + 2.11 * (processing_times[j] * _inst0)"
       " + max(t + 1.5 * (1 + 0.3 * _inst0) * processing_times[j], due_dates[j])"
       " + processing_times[j] / max(0.5 * _inst0, 1)")
EDITED = HEADER.replace("KEY", KEY)


def _key(code: str) -> str:
    lam = next(n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Lambda))
    return ast.unparse(lam.body)


def _expanded(code: str) -> str:
    tree = ast.parse(code)
    func = find_function(tree, "schedule")
    assert func is not None
    expand(func, tree)
    return ast.unparse(tree) + "\n"


def _run(code: str, *args: Any) -> tuple[Any, int]:
    """The program's output and its steps as the runtime gate counts them."""
    namespace: dict[str, Any] = {}
    exec(compile(code, "<candidate>", "exec"), namespace)
    counter = StepCounter("<candidate>")
    with traced(counter.tracer):
        out = namespace["schedule"](*args)
    return out, counter.count


def test_the_emitted_key_reads_weights_computed_once() -> None:
    out = emitted(ast.parse(EDITED), "schedule")
    key = _key(out)
    assert not any(f"{c}" in key for c in ("2.11", "1.5", "0.3", "0.5")), key
    assert "_inst1" in key and "_inst2" in key
    # The guard stays in the key (what it guards is hoisted): a division by a bare name
    # would be guarded again by the next edit.
    assert "processing_times[j] / max(_inst" in key and ", 1)" in key
    assert "_all" not in key


def test_expand_gives_back_the_literals_and_emit_is_stable() -> None:
    out = emitted(ast.parse(EDITED), "schedule")
    back = _expanded(out)
    key = _key(back)
    assert "2.11 * _inst0 * processing_times[j]" in key  # regrouped, literal in the key
    assert "1.5 * (1 + 0.3 * _inst0) * processing_times[j]" in key
    assert "max(0.5 * _inst0, 1)" in key
    assert emitted(ast.parse(back), "schedule") == out
    # Only the literal-free descriptor stays assigned at the top of the editing form.
    assert [line.split(" =")[0].strip() for line in back.splitlines()
            if line.strip().startswith("_inst")] == ["_inst0"]


def test_a_program_without_weights_is_emitted_as_it_is() -> None:
    code = SEED_PROGRAMS["mdd"]
    assert emitted(ast.parse(code), "schedule") == ast.unparse(ast.parse(code)) + "\n"
    assert _expanded(code) == ast.unparse(ast.parse(code)) + "\n"


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 30))
def test_the_emitted_program_schedules_as_the_edited_one_in_fewer_steps(seed: int,
                                                                      n: int) -> None:
    inst = generate_classes(n, 1, np.random.default_rng(seed))[seed % 20]
    args = (list(inst.processing_times), list(inst.due_dates))
    edited, edited_steps = _run(EDITED, *args)
    out, out_steps = _run(emitted(ast.parse(EDITED), "schedule"), *args)
    assert out == edited
    if n >= 3:
        assert out_steps < edited_steps


def test_the_tuner_varies_a_hoisted_literal() -> None:
    code = emitted(ast.parse(HEADER.replace(
        "KEY", "max(t + processing_times[j], due_dates[j]) + 2.0 * _inst0 * processing_times[j]"
    )), "schedule")
    assert "_inst1 = 2.0 * _inst0" in code

    def score(text: str) -> float:  # best at a weight of 3
        line = next(x for x in text.splitlines() if x.strip().startswith("_inst1 = "))
        return abs(float(line.split("=")[1].split("*")[0]) - 3.0)

    tuned = tune(code, "schedule", score, max_evaluations=20)
    assert tuned is not None and tuned.before == (2.0,)
    assert abs(tuned.after[0] - 3.0) < abs(2.0 - 3.0)
    assert "_inst1 = " in tuned.code and "2.0" not in _key(tuned.code)


@pytest.mark.parametrize("operator", ["modify", "tune", "new_idea"])
def test_children_of_an_emitted_parent_stay_emitted(operator: str) -> None:
    """Edits happen in the editing form and every child is emitted: no literal next to an
    instance name is left in a key, and hoisted names are all defined."""
    parent = ParentInfo(emitted(ast.parse(EDITED), "schedule"), 1.0)
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    for k in range(40):
        child = engine.propose(operator, [parent], np.random.default_rng([5, k]))
        tree = ast.parse(child.code)
        func = find_function(tree, "schedule")
        assert func is not None
        defined = {t.id for s in func.body if isinstance(s, ast.Assign) for t in s.targets
                   if isinstance(t, ast.Name)}
        read = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)
                and n.id.startswith("_inst") and isinstance(n.ctx, ast.Load)}
        assert read <= defined, child.code
        assert emitted(tree, "schedule") == child.code, child.code


def test_literal_factors_are_folded_and_signs_absorbed() -> None:
    """``1.42 * (1.03 * p[j])`` costs a product per evaluation that one literal does not;
    folding can leave ``a + -c * x``, which is written ``a - c * x``."""
    code = SEED_PROGRAMS["mdd"].replace(
        "max(t + processing_times[j], due_dates[j])",
        "max(t + 1.42 * (1.03 * processing_times[j]), due_dates[j])"
        " + 2 * (0.5 * due_dates[j] * -1.5) + 2 * 3")
    out = emitted(ast.parse(code), "schedule")
    key = _key(out)
    assert "max(t + 1.46 * processing_times[j], due_dates[j]) - 1.5 * due_dates[j]" in key
    assert emitted(ast.parse(out), "schedule") == out
