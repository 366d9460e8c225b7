"""Structural moves on the construction loop: look-ahead and state features."""

from __future__ import annotations

import ast
from collections import Counter

import numpy as np

from discover.offline import OfflineEngine, ParentInfo
from discover.offline.shape import TOP, add_or_vary_lookahead, find_decision, has_lookahead
from discover.offline.sites import find_function
from discover.offline.state import STATE_FEATURES, add_state_feature, has_state_features
from evaluators.smtt.objective import total_tardiness
from evaluators.smtt.problem import COST_SOURCE
from tests.discover.offline.support import EDD, INSTANCES, MDD, SPEC, schedule_of


def _lookahead(seed: int) -> tuple[str, int]:
    tree = ast.parse(MDD)
    func = find_function(tree, "schedule")
    assert func is not None
    desc = add_or_vary_lookahead(func, np.random.default_rng(seed))
    assert desc is not None and "look-ahead" in desc
    size = int(desc.split("over the ")[1].split(" ")[0])
    return ast.unparse(tree), size


def _specified_lookahead(p: list[int], d: list[int], size: int) -> list[int]:
    """MDD with a short-list of ``size`` scored by the key now plus the best key after it."""
    remaining, order, t = list(range(len(p))), [], 0
    while remaining:
        top = sorted(remaining, key=lambda j: (max(t + p[j], d[j]), j))[:size]
        best = min(top, key=lambda j: (max(t + p[j], d[j]) + min(
            (max(t + p[j] + p[i], d[i]) for i in top if i != j), default=0), j))
        remaining.remove(best)
        order.append(best)
        t += p[best]
    return order


def test_lookahead_scores_a_choice_by_the_key_one_step_later() -> None:
    differs = 0
    for seed in range(4):
        code, size = _lookahead(seed)
        schedule = schedule_of(code)
        for inst in INSTANCES:
            p, d = list(inst.processing_times), list(inst.due_dates)
            got = schedule(p, d)
            assert got == _specified_lookahead(p, d, size)
            differs += got != schedule_of(MDD)(p, d)
    assert differs > 0  # the move changes decisions, not just the text


def test_lookahead_needs_a_key_that_depends_on_the_state() -> None:
    static = MDD.replace("max(t + processing_times[j], due_dates[j])", "due_dates[j]")
    assert static != MDD
    tree = ast.parse(static)
    func = find_function(tree, "schedule")
    assert func is not None and find_decision(func) is not None
    assert add_or_vary_lookahead(func, np.random.default_rng(0)) is None
    # ... and a function without a construction loop has no decision at all.
    sorted_rule = ast.parse(EDD)
    func = find_function(sorted_rule, "schedule")
    assert func is not None and find_decision(func) is None


def test_a_second_lookahead_move_changes_the_short_list() -> None:
    code, size = _lookahead(0)
    tree = ast.parse(code)
    func = find_function(tree, "schedule")
    assert func is not None and has_lookahead(func)
    desc = add_or_vary_lookahead(func, np.random.default_rng(1))
    assert desc is not None and f"short-list {size} -> " in desc
    assert ast.unparse(tree).count(f"{TOP} = sorted(") == 1


def _with_state(seed: int, kind: str | None = None) -> tuple[str, str]:
    tree = ast.parse(MDD)
    func = find_function(tree, "schedule")
    assert func is not None
    desc = add_state_feature(tree, func, SPEC.parameters, COST_SOURCE,
                             np.random.default_rng(seed), kind=kind)
    assert desc is not None and has_state_features(func)
    return ast.unparse(tree), desc


def test_state_features_track_the_objective_over_the_choices() -> None:
    code, _ = _with_state(0, STATE_FEATURES[0])
    # Expose the tracked features at the end of the run.
    exposed = code.replace("    return order", "    return (order, _late, _done, _track)")
    assert exposed != code
    for inst in INSTANCES:
        order, late, done, track = schedule_of(exposed)(list(inst.processing_times),
                                                      list(inst.due_dates))
        assert done == inst.size == len(order)
        assert track == sum(inst.processing_times)
        finish = np.cumsum([inst.processing_times[j] for j in order])
        assert late == sum(int(f > inst.due_dates[j]) for f, j in zip(finish, order, strict=True))


def test_state_feature_terms_scale_only_item_attributes() -> None:
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    for seed in range(6):
        code, desc = _with_state(seed)
        assert "processing_times[j]" in desc.split("term ")[1]  # never due_dates (grows)
        tree = ast.parse(code)
        func = find_function(tree, "schedule")
        assert func is not None and engine._violations(tree, func) == 0
        for inst in INSTANCES[:3]:
            out = schedule_of(code)(list(inst.processing_times), list(inst.due_dates))
            assert sorted(out) == list(range(inst.size))
            assert total_tardiness(inst, out) >= 0


def test_engine_draws_every_structural_move() -> None:
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    kinds: Counter[str] = Counter()
    for k in range(300):
        child = engine.propose("new_idea", [ParentInfo(MDD, 1.0)], rng=np.random.default_rng(k))
        if "structure:" in child.idea:
            kinds[child.idea.split("structure: ")[1].split(" ")[0]] += 1
            for inst in INSTANCES[:2]:
                out = schedule_of(child.code)(list(inst.processing_times), list(inst.due_dates))
                assert sorted(out) == list(range(inst.size))
    assert kinds["improvement"] > 0 and kinds["look-ahead"] > 0 and kinds["state"] > 0
    again = [engine.propose("new_idea", [ParentInfo(MDD, 1.0)], rng=np.random.default_rng(k))
             for k in range(40)]
    assert [c.code for c in again] == [
        OfflineEngine(SPEC, np.random.default_rng(0)).propose(
            "new_idea", [ParentInfo(MDD, 1.0)], rng=np.random.default_rng(k)).code
        for k in range(40)]
