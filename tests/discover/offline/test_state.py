"""State features: hoisted out of the key, and the incremental pool spread."""

from __future__ import annotations

import ast
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.offline import OfflineEngine, ParentInfo
from discover.offline.deadcode import remove_dead_assignments
from discover.offline.scale import ScaleModel
from discover.offline.shape import add_or_vary_lookahead, find_decision
from discover.offline.sites import find_function
from discover.offline.state import (
    SPREAD,
    STATE_FEATURES,
    add_state_feature,
    feature_meaning,
    feature_names,
    has_state_features,
    state_free_attributes,
)
from evaluators.smtt.problem import COST_SOURCE
from tests.discover.offline.support import INSTANCES, MDD, SPEC, schedule_of


def _parse(code: str) -> tuple[ast.Module, ast.FunctionDef]:
    tree = ast.parse(code)
    func = find_function(tree, "schedule")
    assert func is not None
    return tree, func


def _move(tree: ast.Module, func: ast.FunctionDef, seed: int, kind: str | None) -> str | None:
    return add_state_feature(tree, func, SPEC.parameters, COST_SOURCE,
                             np.random.default_rng(seed), kind=kind)


def _loop(func: ast.FunctionDef) -> ast.While:
    return next(n for n in func.body if isinstance(n, ast.While))


def _assigned(body: list[ast.stmt]) -> list[str]:
    return [s.targets[0].id for s in body if isinstance(s, ast.Assign)
            and isinstance(s.targets[0], ast.Name)]


def test_a_tracked_feature_is_computed_once_per_decision_not_per_item() -> None:
    for kind in STATE_FEATURES:
        tree, func = _parse(MDD)
        assert _move(tree, func, 0, kind) is not None
        assert _move(tree, func, 1, kind) is not None  # the same feature: reused
        loop = _loop(func)
        assert _assigned(loop.body)[0] == "_f0" and feature_names(func) == {"_f0"}
        decision = find_decision(func)
        assert decision is not None and _assigned([loop.body[decision.index - 1]]) == ["_f0"]
        key = ast.unparse(decision.lam)
        assert key.count("* _f0 *") == 2
        assert "_late" not in key and "_done" not in key and "len(" not in key
        # Hoisted names are plain assignments, never taken for the loop's state updates.
        assert [name for name, _ in decision.updates] == ["t"]
        out = schedule_of(ast.unparse(tree))(list(INSTANCES[0].processing_times),
                                           list(INSTANCES[0].due_dates))
        assert sorted(out) == list(range(INSTANCES[0].size))


def _spread(seed: int = 0, code: str = MDD) -> tuple[ast.Module, ast.FunctionDef, str]:
    tree, func = _parse(code)
    desc = _move(tree, func, seed, SPREAD)
    assert desc is not None and "spread of" in desc and has_state_features(func)
    return tree, func, desc


def _checked(tree: ast.Module, func: ast.FunctionDef) -> str:
    """The program with an assertion, at every decision, that each running sum equals a
    fresh sum over the pool (``checks`` counts them)."""
    loop = _loop(func)
    inits = {s.targets[0].id: s.value for s in func.body if isinstance(s, ast.Assign)
             and isinstance(s.targets[0], ast.Name) and s.targets[0].id.startswith("_s")}
    assert inits
    checks = [ast.parse(f"assert abs({name} - {ast.unparse(value)}) < 1e-6\nchecks.append(1)")
              .body for name, value in inits.items()]
    at = next(k for k, s in enumerate(loop.body) if _assigned([s]) == ["_f0"])
    loop.body[at:at] = [s for block in checks for s in block]
    func.body.insert(0, ast.parse("checks = []").body[0])
    code = ast.unparse(tree).replace("    return order", "    return order, checks, _f0")
    assert code.count("return order, checks") == 1
    return code


def test_the_spread_runs_and_its_running_sums_match_a_fresh_recomputation() -> None:
    seen = set()
    for seed in range(8):
        tree, func, desc = _spread(seed)
        seen.add(desc.split("spread of ")[1].rstrip(")"))
        loop = _loop(func)
        assert _assigned(loop.body)[:1] == ["_f0"]
        code = ast.unparse(tree)
        assert code.count("_s10 = sum(") == 1 and code.count("_s10 -= ") == 1
        for inst in INSTANCES:
            p, d = list(inst.processing_times), list(inst.due_dates)
            assert sorted(schedule_of(code)(p, d)) == list(range(inst.size))
        checked = _checked(*_parse(code))
        order, checks, _ = schedule_of(checked)(p, d)
        assert len(checks) == 2 * len(order)
    assert seen == {"due_dates[j] over remaining", "processing_times[j] over remaining"}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 120)), min_size=1, max_size=12),
       st.integers(0, 7))
def test_the_incremental_spread_is_the_coefficient_of_variation_over_the_pool(
        jobs: list[tuple[int, int]], seed: int) -> None:
    compound = MDD.replace("due_dates[j]), j)", "due_dates[j] - processing_times[j]), j)")
    tree, func, desc = _spread(seed, compound)
    attribute = desc.split("spread of ")[1].split(" over")[0]
    # Expose every decision's feature beside a fresh computation from the pool.
    loop = _loop(func)
    at = next(k for k, s in enumerate(loop.body) if _assigned([s]) == ["_f0"])
    values = [float(eval(attribute, {"processing_times": [p for p, _ in jobs],
                                     "due_dates": [d for _, d in jobs], "j": j}))
              for j in range(len(jobs))]
    loop.body.insert(at + 1, ast.parse("trace.append((_f0, list(remaining)))").body[0])
    func.body.insert(0, ast.parse("trace = []").body[0])
    code = ast.unparse(tree).replace("    return order", "    return trace")
    for feature, pool in schedule_of(code)([p for p, _ in jobs], [d for _, d in jobs]):
        a = np.array([values[j] for j in pool])
        expected = a.std() / max(abs(a.mean()), 1 / len(a))
        assert abs(feature - expected) < 1e-7 * max(1.0, expected)


def test_compound_state_free_attributes_and_never_state_or_look_ahead_names() -> None:
    compound = MDD.replace("due_dates[j]), j)", "due_dates[j] - processing_times[j]), j)")
    tree, func = _parse(compound)
    assert add_or_vary_lookahead(func, np.random.default_rng(0)) is not None
    decision = find_decision(func)
    assert decision is not None
    found = {ast.unparse(a) for a in state_free_attributes(func, decision)}
    assert found == {"processing_times[j]", "due_dates[j]", "due_dates[j] - processing_times[j]"}
    # The decision picks from the short-list; the spread is over the real pool, hoisted
    # before the short-list.
    assert _move(tree, func, 3, SPREAD) is not None
    body = _loop(func).body
    assert _assigned(body)[:2] == ["_f0", "_top"]
    assert "in remaining))" in ast.unparse(func.body[-3])


def test_the_spread_needs_the_program_to_remove_its_choice_from_the_pool() -> None:
    for variant in ("remaining = [k for k in remaining if k != best]",
                    "del remaining[remaining.index(best)]",
                    "remaining.remove(best)\n        remaining.append(best)\n"
                    "        remaining.remove(best)"):
        code = MDD.replace("remaining.remove(best)", variant)
        assert code != MDD
        tree, func = _parse(code)
        before = ast.dump(tree)
        assert _move(tree, func, 0, SPREAD) is None
        assert ast.dump(tree) == before  # nothing half-done for the next move to trip on


def test_hoisted_features_have_size_degree_zero() -> None:
    tree, func, _ = _spread(0)
    for kind in STATE_FEATURES:
        assert _move(tree, func, 1, kind) is not None
    names = feature_names(func)
    assert names == {"_f0", "_f1", "_f2"}
    model = ScaleModel(func, [])
    for name in names:
        assert model.degree(ast.Name(name, ast.Load())) == 0
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    assert engine._violations(tree, func) == 0


def test_dead_assignment_removal_keeps_used_features_and_drops_unused_ones() -> None:
    tree, func, _ = _spread(0)
    assert remove_dead_assignments(func) == []
    assert "_f0" in feature_names(func)
    decision = find_decision(func)
    assert decision is not None and isinstance(decision.key, ast.Tuple)
    first = decision.key.elts[0]
    assert isinstance(first, ast.BinOp)
    decision.key.elts[0] = first.left  # the term c·_f0·x is gone (e.g. deleted by a mutation)
    assert set(remove_dead_assignments(func)) == {"_f0", "_s10", "_s20"}
    code = ast.unparse(tree)
    assert "_f0" not in code and "_s1" not in code and "_s2" not in code
    assert code == ast.unparse(ast.parse(MDD))
    # A later state move re-installs what it needs.
    assert _move(tree, func, 0, SPREAD) is not None


def test_tracking_is_reinstalled_after_its_counters_were_dropped() -> None:
    tree, func = _parse(MDD)
    assert _move(tree, func, 0, STATE_FEATURES[0]) is not None
    decision = find_decision(func)
    assert decision is not None and isinstance(decision.key, ast.Tuple)
    first = decision.key.elts[0]
    assert isinstance(first, ast.BinOp)
    decision.key.elts[0] = first.left
    assert {"_f0", "_late", "_done"} <= set(remove_dead_assignments(func))
    assert _move(tree, func, 1, STATE_FEATURES[0]) is not None
    code = ast.unparse(tree)
    assert "_late = 0" in code and "_done += 1" in code
    for inst in INSTANCES[:3]:
        out = schedule_of(code)(list(inst.processing_times), list(inst.due_dates))
        assert sorted(out) == list(range(inst.size))


def test_engine_draws_spread_children_deterministically() -> None:
    def children(seed: int) -> list[str]:
        engine = OfflineEngine(SPEC, np.random.default_rng(seed))
        return [engine.propose("new_idea", [ParentInfo(MDD, 1.0)],
                               rng=np.random.default_rng(k)).code for k in range(60)]

    codes = children(0)
    assert codes == children(1)  # the per-call generator decides
    kinds = Counter("spread" if "_s10" in c else "tracked" for c in codes if "_f0" in c)
    assert kinds["spread"] > 0 and kinds["tracked"] > 0
    for code in codes:
        if "_f0" in code:
            inst = INSTANCES[0]
            out = schedule_of(code)(list(inst.processing_times), list(inst.due_dates))
            assert sorted(out) == list(range(inst.size))


def _featured(kind: str, seed: int = 0) -> str:
    tree, func = _parse(MDD)
    assert _move(tree, func, seed, kind) is not None
    return ast.unparse(tree)


def _term_of(code: str) -> str:
    """The key's state-feature term, as written (``0.9 * _f0 * processing_times[j]``)."""
    decision = find_decision(_parse(code)[1])
    assert decision is not None
    return next(ast.unparse(n) for n in ast.walk(decision.key) if isinstance(n, ast.BinOp)
                and isinstance(n.left, ast.BinOp)
                and any(isinstance(x, ast.Name) and x.id == "_f0" for x in ast.walk(n.left)))


def test_a_features_meaning_includes_the_sums_it_reads() -> None:
    late, placed = _featured(STATE_FEATURES[0]), _featured(STATE_FEATURES[1])
    assert feature_meaning(_parse(late)[1], "_f0") != feature_meaning(_parse(placed)[1], "_f0")
    assert feature_meaning(_parse(late)[1], "_f0") == feature_meaning(_parse(late)[1], "_f0")
    assert feature_meaning(_parse(MDD)[1], "_f0") is None
    # Two spreads: the same ``_f0`` line over sums of different attributes.
    spreads = {}
    for seed in range(40):
        code = _featured(SPREAD, seed)
        line = next(x for x in code.splitlines() if x.strip().startswith("_f0 ="))
        sums = next(x for x in code.splitlines() if x.strip().startswith("_s10 ="))
        spreads.setdefault(line.strip(), {}).setdefault(sums.strip(), code)
    same_line = next(v for v in spreads.values() if len(v) >= 2)
    first, second = list(same_line.values())[:2]
    assert feature_meaning(_parse(first)[1], "_f0") != feature_meaning(_parse(second)[1], "_f0")


def test_crossover_never_grafts_a_feature_that_means_something_else_here() -> None:
    recipient = _featured(STATE_FEATURES[1]).replace(_term_of(_featured(STATE_FEATURES[1])),
                                                     "0.9 * _f0 * processing_times[j]")
    donor = _featured(STATE_FEATURES[0]).replace(_term_of(_featured(STATE_FEATURES[0])),
                                                 "-0.46 * _f0 * processing_times[j]")
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    children = [engine.propose("crossover", [ParentInfo(recipient, 1.0), ParentInfo(donor, 2.0)],
                               rng=np.random.default_rng(k)).code for k in range(60)]
    assert not any("0.46 * _f0" in c for c in children)
    # With the same feature on both sides the graft is allowed.
    same = _featured(STATE_FEATURES[1]).replace(_term_of(_featured(STATE_FEATURES[1])),
                                                "-0.46 * _f0 * processing_times[j]")
    grafted = [engine.propose("crossover", [ParentInfo(recipient, 1.0), ParentInfo(same, 2.0)],
                              rng=np.random.default_rng(k)).code for k in range(60)]
    assert any("0.46 * _f0" in c for c in grafted)
