"""Structural moves of the offline engine: a bounded improvement pass built from the objective."""

from __future__ import annotations

import ast

import numpy as np

from discover.offline import OfflineEngine, ParentInfo
from discover.offline.structure import IMPROVE, add_or_vary_improvement, has_improvement
from evaluators.base import CandidateSpec
from evaluators.smtt.generate import generate_classes
from evaluators.smtt.objective import total_tardiness, validate_order
from evaluators.smtt.problem import COST_SOURCE, SEED_PROGRAMS, SmttProblem

SPEC = SmttProblem.candidate_spec


def _run(code: str, p: list[int], d: list[int]) -> list[int]:
    namespace: dict[str, object] = {}
    exec(compile(code, "<child>", "exec"), namespace)
    return namespace["schedule"](list(p), list(d))  # type: ignore[operator, no-any-return]


def test_improvement_pass_never_worsens_and_often_improves() -> None:
    insts = generate_classes(40, 1, np.random.default_rng(8))
    better = 0
    for seed in range(6):
        tree = ast.parse(SEED_PROGRAMS["mdd"])
        desc = add_or_vary_improvement(tree, "schedule", SPEC.parameters, COST_SOURCE,
                                       np.random.default_rng(seed))
        assert desc is not None and desc.startswith("structure: improvement pass")
        assert has_improvement(tree)
        code = ast.unparse(tree)
        for inst in insts:
            p, d = list(inst.processing_times), list(inst.due_dates)
            out = _run(code, p, d)
            assert validate_order(inst.size, out) == out
            plain = total_tardiness(inst, _run(SEED_PROGRAMS["mdd"], p, d))
            value = total_tardiness(inst, out)
            assert value <= plain
            better += value < plain
    assert better > 0


def test_a_second_move_varies_the_pass() -> None:
    tree = ast.parse(SEED_PROGRAMS["mdd"])
    add_or_vary_improvement(tree, "schedule", SPEC.parameters, COST_SOURCE,
                            np.random.default_rng(1))
    first = ast.unparse(tree)
    changed = 0
    for seed in range(10):
        again = ast.parse(first)
        desc = add_or_vary_improvement(again, "schedule", SPEC.parameters, COST_SOURCE,
                                       np.random.default_rng(seed))
        if desc is not None:
            changed += 1
            assert ast.unparse(again) != first
            # Still one pass and one definition of each helper.
            assert ast.unparse(again).count(f"def {IMPROVE}(") == 1
            assert ast.unparse(again).count(f"return {IMPROVE}(order, processing_times") == 1
    assert changed >= 5


def test_engine_makes_structural_children_only_with_an_objective() -> None:
    parents = [ParentInfo(SEED_PROGRAMS["mdd"], 1.0)]
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    ideas = [engine.propose("new_idea", parents, rng=np.random.default_rng(k)).idea
             for k in range(60)]
    assert any("structure:" in i for i in ideas)
    bare = CandidateSpec(**{**SPEC.__dict__, "cost_source": ""})
    engine = OfflineEngine(bare, np.random.default_rng(0))
    ideas = [engine.propose("new_idea", parents, rng=np.random.default_rng(k)).idea
             for k in range(60)]
    assert not any("structure:" in i for i in ideas)
