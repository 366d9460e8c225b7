"""The offline engine also searches policy functions (job shop's priority), via return sites."""

from __future__ import annotations

import ast

import numpy as np

from discover.offline import OfflineEngine, ParentInfo
from discover.search.duplicates import normalized_hash
from evaluators.registry import get_problem


def test_every_operator_mutates_job_shop_rules() -> None:
    problem = get_problem("jssp")
    spec = problem.candidate_spec
    engine = OfflineEngine(spec, np.random.default_rng(3))
    parents = [ParentInfo(code) for code in problem.seed_programs.values()]
    seen = {normalized_hash(p.code) for p in parents}
    for k, op in enumerate(["modify", "tune", "new_idea", "crossover", "simplify"] * 4):
        pair = [parents[k % len(parents)], parents[(k + 1) % len(parents)]]
        child = engine.propose(op, pair)
        tree = ast.parse(child.code)
        (func,) = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        assert func.name == "priority"
        assert tuple(a.arg for a in func.args.args) == spec.parameters
        assert normalized_hash(child.code) not in {normalized_hash(p.code) for p in pair}
        seen.add(normalized_hash(child.code))
    assert len(seen) > len(parents) + 5
