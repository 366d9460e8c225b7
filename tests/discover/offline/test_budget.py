"""The step budget: children of a parent near the gate's limit are made to do less work."""

from __future__ import annotations

import ast
import hashlib
from typing import Any

import numpy as np
import pytest

from discover.offline import OfflineEngine, ParentInfo
from discover.offline.budget import LOW, lighten
from discover.offline.shape import TOP, add_or_vary_lookahead, has_lookahead
from discover.offline.sites import find_function
from discover.offline.state import has_state_features
from discover.offline.structure import IMPROVE, add_or_vary_improvement
from evaluators.smtt.problem import COST_SOURCE
from tests.discover.offline.support import INSTANCES, MDD, SPEC, schedule_of

TIE_BROKEN = MDD.replace("(max(t + processing_times[j], due_dates[j]), j)",
                         "(max(t + processing_times[j], due_dates[j]), "
                         "due_dates[j] + processing_times[j], j)")


def _with_pass(code: str, passes: int, span: int, insert: bool) -> str:
    tree = ast.parse(code)
    assert add_or_vary_improvement(tree, "schedule", SPEC.parameters, COST_SOURCE,
                                   np.random.default_rng(0)) is not None
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and call.func.id == IMPROVE:
            call.args[-3:] = [ast.Constant(passes), ast.Constant(span), ast.Constant(insert)]
    return ast.unparse(tree)


def _lighten(code: str, seed: int) -> tuple[str, str | None]:
    tree = ast.parse(code)
    func = find_function(tree, "schedule")
    assert func is not None
    desc = lighten(tree, func, np.random.default_rng(seed))
    return ast.unparse(ast.fix_missing_locations(tree)), desc


def _step_calls(code: str) -> int:
    """Calls of the objective's ``_step`` over the test instances: the pass's work."""
    namespace: dict[str, Any] = {}
    exec(compile(code, "<child>", "exec"), namespace)
    inner, calls = namespace["_step"], [0]

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return inner(*args)

    namespace["_step"] = counted
    for inst in INSTANCES:
        namespace["schedule"](list(inst.processing_times), list(inst.due_dates))
    return calls[0]


def test_a_plain_rule_has_nothing_to_lighten() -> None:
    code, desc = _lighten(MDD, 0)
    assert desc is None and code == ast.unparse(ast.parse(MDD))


@pytest.mark.parametrize("seed", range(12))
def test_lightening_the_pass_does_less_work(seed: int) -> None:
    parent = _with_pass(MDD, 3, 10, False)
    child, desc = _lighten(parent, seed)
    assert desc is not None and desc.startswith("budget: ")
    assert child != parent
    assert _step_calls(child) < _step_calls(parent)
    # Still a valid schedule of every instance.
    for inst in INSTANCES:
        order = schedule_of(child)(list(inst.processing_times), list(inst.due_dates))
        assert sorted(order) == list(range(inst.size))


def test_the_edits_of_the_pass_are_the_lighter_ones() -> None:
    seen = {_lighten(_with_pass(MDD, 2, 6, False), seed)[1] for seed in range(40)}
    assert any(d is not None and "sweeps 2 -> 1" in d for d in seen)
    assert any(d is not None and "exchanges -> insertions" in d for d in seen)
    spans = {d for d in seen if d is not None and "move span 6 ->" in d}
    assert spans and all(int(d.rsplit(" ", 1)[1]) < 6 for d in spans)
    # At the lightest setting nothing of the pass is left to lighten.
    assert _lighten(_with_pass(MDD, 1, 1, True), 0)[1] is None


def test_a_shorter_look_ahead_and_a_dropped_tie_break() -> None:
    tree = ast.parse(MDD)
    func = find_function(tree, "schedule")
    assert func is not None
    add_or_vary_lookahead(func, np.random.default_rng(3))
    for node in ast.walk(func):  # a short-list of 5
        if isinstance(node, ast.Slice) and isinstance(node.upper, ast.Constant):
            node.upper.value = 5
    looked = ast.unparse(tree)
    child, desc = _lighten(looked, 0)
    assert desc is not None and desc.startswith("budget: look-ahead short-list 5 -> ")
    assert has_lookahead(find_function(ast.parse(child), "schedule"))  # type: ignore[arg-type]

    child, desc = _lighten(TIE_BROKEN, 0)
    assert desc == "budget: drop key component due_dates[j] + processing_times[j]"
    assert "(max(t + processing_times[j], due_dates[j]), j)" in child


def _proposals(load: float | None, parent: str, count: int = 60) -> list[tuple[str, str]]:
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    out = []
    for k in range(count):
        op = ("new_idea", "modify", "tune", "simplify")[k % 4]
        p = engine.propose(op, [ParentInfo(parent, 1.0, load)], rng=np.random.default_rng(k))
        out.append((p.code, p.idea))
    return out


def _digest(proposals: list[tuple[str, str]]) -> str:
    return hashlib.sha256(repr(proposals).encode()).hexdigest()


def test_below_low_the_engine_proposes_as_without_a_load() -> None:
    parent = _with_pass(MDD, 2, 4, False)
    assert _digest(_proposals(None, parent)) == _digest(_proposals(LOW - 0.01, parent))


def test_near_the_limit_no_structure_is_added_and_key_edits_stay_as_they_are() -> None:
    parent = _with_pass(MDD, 2, 6, False)
    proposals = _proposals(0.99, parent, 200)
    for code, idea in proposals:
        func = find_function(ast.parse(code), "schedule")
        assert func is not None
        assert not has_lookahead(func) and not has_state_features(func)
        assert TOP not in code
        # Only the structural draw lightens: an edit's child is never lightened too.
        assert "; budget: " not in idea
    lightened = [idea for _, idea in proposals if "budget: " in idea]
    varied = [idea for _, idea in proposals if "structure: " in idea]
    assert lightened and varied
    assert all(idea.split(": ", 1)[1].startswith("budget: ") for idea in lightened)
    # A parent with room gets structures added now and then, and is never lightened.
    roomy = _proposals(0.3, MDD, 200)
    assert any("structure:" in idea for _, idea in roomy)
    assert not any("budget: " in idea for _, idea in roomy)


def test_key_edits_near_the_limit_are_those_of_a_parent_with_room() -> None:
    """Only the structural draw depends on the load: the other children are the same."""
    parent = _with_pass(MDD, 2, 6, False)
    near, roomy = _proposals(0.99, parent, 120), _proposals(0.3, parent, 120)
    same = [a == b for a, b in zip(near, roomy, strict=True)]
    differ = [a[1] for a, b in zip(near, roomy, strict=True) if a != b]
    assert sum(same) >= 0.7 * len(same)
    assert all("budget: " in idea or "structure: " in idea for idea in differ)


def test_near_the_limit_a_look_ahead_beside_a_pass_is_varied_too() -> None:
    """The structural draw of a parent with both varies either (the pass only, before)."""
    tree = ast.parse(_with_pass(MDD, 2, 4, False))
    func = find_function(tree, "schedule")
    assert func is not None
    add_or_vary_lookahead(func, np.random.default_rng(3))
    parent = ast.unparse(tree)
    ideas = [idea for _, idea in _proposals(0.99, parent, 300) if "structure: " in idea]
    assert any("look-ahead" in idea for idea in ideas), ideas
    assert any("sweeps" in idea or "span" in idea or "moves" in idea for idea in ideas), ideas
