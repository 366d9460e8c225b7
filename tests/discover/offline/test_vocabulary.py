"""Whole-instance descriptors in the vocabulary: computed once, at the top, never per decision."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from discover.offline import OfflineEngine, Operator, ParentInfo
from discover.offline.hoisting import expand
from discover.offline.sites import find_function, find_sites
from discover.offline.vocabulary import INSTANCE_PREFIX, Vocabulary, inline_instance_names
from evaluators.smtt.generate import generate_classes
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem

SPEC = SmttProblem.candidate_spec
TF = "1 - d_mean_all / p_total_all"
RDD = "(d_max_all - d_min_all) / p_total_all"
MDD_WITH_DOCSTRING = SEED_PROGRAMS["mdd"]


def _run(code: str, p: list[int], d: list[int]) -> tuple[list[int], dict[str, object]]:
    """Run a trusted test program; its order and the locals of ``schedule`` at return."""
    seen: dict[str, object] = {}
    tree = ast.parse(code)
    func = find_function(tree, "schedule")
    assert func is not None
    # Capture the hoisted names: assign them to a global as well (test-only rewrite).
    names = [t.id for s in func.body if isinstance(s, ast.Assign) for t in s.targets
             if isinstance(t, ast.Name)]
    func.body.insert(len(func.body) - 1, ast.parse(
        "_SEEN.update({" + ", ".join(f"{n!r}: {n}" for n in names) + "})").body[0])
    namespace: dict[str, object] = {"_SEEN": seen}
    exec(compile(ast.fix_missing_locations(tree), "<test>", "exec"), namespace)
    order = namespace["schedule"](list(p), list(d))  # type: ignore[operator]
    return list(order), seen


def _bound(feature_source: str, base: str = MDD_WITH_DOCSTRING, times: int = 1) -> str:
    """MDD whose key is ``(max(t + p, d) + feature * p, j)``, bound ``times`` times."""
    tree = ast.parse(base)
    func = find_function(tree, "schedule")
    assert func is not None
    vocab = Vocabulary(SPEC.feature_vocabulary, SPEC.parameters)
    for _ in range(times):
        site = find_sites(tree, func)[0]
        key = ast.parse(f"(max(t + p[j], d[j]) + ({feature_source}) * p[j], j)",
                        mode="eval").body
        site.root.set(key)
        assert vocab.bind(site)
    return ast.unparse(tree) + "\n"


def test_instance_descriptors_are_flagged() -> None:
    vocab = Vocabulary(SPEC.feature_vocabulary, SPEC.parameters)
    flags = {f.source: f.instance_level for f in vocab.features}
    assert flags[TF] and flags[RDD]
    assert not flags["p_total"] and not flags["p[j]"] and not flags["t"]
    assert not any(f.item_dependent for f in vocab.features if f.instance_level)


def test_descriptors_are_computed_once_at_the_top_and_hoisted_out_of_the_key() -> None:
    code = _bound(TF)
    func = find_function(ast.parse(code), "schedule")
    assert func is not None
    # After the docstring: the aggregates over the whole instance, then the descriptor.
    assert isinstance(func.body[0], ast.Expr)
    top = [ast.unparse(s) for s in func.body[1:4]]
    assert any(s.startswith("p_total_all = sum(") and "range(len(processing_times))" in s
               for s in top), top
    assert any(s.startswith("d_mean_all = ") for s in top), top
    assert top[2] == f"{INSTANCE_PREFIX}0 = 1 - d_mean_all / max(p_total_all, 1)"
    # The key reads one name: nothing of the descriptor is computed per item.
    lam = next(n for n in ast.walk(func) if isinstance(n, ast.Lambda))
    read = {n.id for n in ast.walk(lam) if isinstance(n, ast.Name)}
    assert f"{INSTANCE_PREFIX}0" in read
    assert not any(name.endswith("_all") for name in read)
    loop = next(s for s in func.body if isinstance(s, ast.While))
    assert "_all" not in ast.unparse(loop).replace(f"{INSTANCE_PREFIX}0", "")


@pytest.mark.parametrize("seed", range(4))
def test_descriptor_values_are_the_instance_statistics(seed: int) -> None:
    inst = generate_classes(15, 1, np.random.default_rng(seed))[5 * seed]
    p, d = list(inst.processing_times), list(inst.due_dates)
    order, seen = _run(_bound(TF), p, d)
    assert sorted(order) == list(range(len(p)))
    assert seen[f"{INSTANCE_PREFIX}0"] == pytest.approx(1 - (sum(d) / len(d)) / sum(p))
    _, seen = _run(_bound(RDD), p, d)
    assert seen[f"{INSTANCE_PREFIX}0"] == pytest.approx((max(d) - min(d)) / sum(p))


def test_binding_again_reuses_the_helpers() -> None:
    code = _bound(TF, times=2)
    func = find_function(ast.parse(code), "schedule")
    assert func is not None
    targets = [t.id for s in func.body if isinstance(s, ast.Assign) for t in s.targets
               if isinstance(t, ast.Name)]
    assert targets.count("p_total_all") == 1 and targets.count(f"{INSTANCE_PREFIX}0") == 1
    assert f"{INSTANCE_PREFIX}1" not in targets


@pytest.mark.parametrize(("p", "d"), [([], []), ([0, 0], [0, 0]), ([3], [0])])
def test_degenerate_instances_do_not_crash(p: list[int], d: list[int]) -> None:
    for feature in (TF, RDD):
        order, _ = _run(_bound(feature), p, d)
        assert sorted(order) == list(range(len(p)))


def test_the_engine_writes_descriptor_terms_that_run() -> None:
    insts = generate_classes(12, 1, np.random.default_rng(9))[::4]
    engine = OfflineEngine(SPEC, np.random.default_rng(3))
    parent = ParentInfo(SEED_PROGRAMS["mdd"], 1.0)
    hoisted = 0
    for k in range(300):
        child = engine.propose("modify", [parent], np.random.default_rng([3, k]))
        if INSTANCE_PREFIX not in child.code:
            continue
        hoisted += 1
        lam = next(n for n in ast.walk(ast.parse(child.code)) if isinstance(n, ast.Lambda))
        assert "_all" not in ast.unparse(lam), child.code
        for inst in insts:
            order, _ = _run(child.code, list(inst.processing_times), list(inst.due_dates))
            assert sorted(order) == list(range(len(inst.processing_times)))
    assert hoisted >= 5


def test_inlining_gives_a_site_the_expressions_its_names_stand_for() -> None:
    tree = ast.parse(_bound(RDD))
    func = find_function(tree, "schedule")
    assert func is not None
    site = find_sites(tree, func)[0]
    assert "_inst0" in ast.unparse(site.root.get())
    inline_instance_names(site)
    key = ast.unparse(site.root.get())
    assert INSTANCE_PREFIX not in key
    assert "(d_max_all - d_min_all) / max(p_total_all, 1)" in key


def test_crossover_carries_the_donors_descriptor_not_its_name() -> None:
    """Both parents call their descriptor ``_inst0`` (one TF, the other RDD): a graft
    brings the donor's expression, hoisted again in the recipient under a free name
    (read as the recipient's ``_inst0`` it would silently mean the other descriptor)."""
    parents = [ParentInfo(_bound(TF), 1.0), ParentInfo(_bound(RDD), 2.0)]
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    both = 0
    for k in range(120):
        child = engine.propose("crossover", parents, np.random.default_rng([5, k]))
        func = find_function(ast.parse(child.code), "schedule")
        assert func is not None
        defined = {t.id: s.value for s in func.body if isinstance(s, ast.Assign)
                   for t in s.targets if isinstance(t, ast.Name)
                   and t.id.startswith(INSTANCE_PREFIX)}
        read = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)
                and n.id.startswith(INSTANCE_PREFIX) and isinstance(n.ctx, ast.Load)}
        assert read <= set(defined), child.code
        sources = [ast.unparse(v) for v in defined.values()]
        both += any("d_mean_all" in v for v in sources) and any("d_max_all" in v
                                                                 for v in sources)
    assert both >= 3


def test_a_coefficient_can_be_made_to_depend_on_the_instance() -> None:
    """``c`` → ``c*(1 ± k*F)``: the emitted key reads the weight computed once; in the
    editing form (.hoisting.expand) both literals are back in the key, where mutations and
    the tuner vary them; the child runs."""
    parent = ParentInfo(SEED_PROGRAMS["mdd"].replace(
        "max(t + processing_times[j], due_dates[j])",
        "max(t + processing_times[j], due_dates[j]) + 0.7 * processing_times[j]"), 1.0)
    insts = generate_classes(12, 1, np.random.default_rng(2))[::5]
    engine = OfflineEngine(SPEC, np.random.default_rng(0))
    adapted = 0
    for k in range(200):
        child = engine.propose("modify", [parent], np.random.default_rng([11, k]))
        if "adapt_coefficient" not in child.mutations:
            continue
        adapted += 1
        tree = ast.parse(child.code)
        lam = next(n for n in ast.walk(tree) if isinstance(n, ast.Lambda))
        assert "(1 + " not in ast.unparse(lam) and "(1 - " not in ast.unparse(lam)
        func = find_function(tree, "schedule")
        assert func is not None
        expand(func, tree)
        lam = next(n for n in ast.walk(tree) if isinstance(n, ast.Lambda))
        key = ast.unparse(lam.body)
        assert "* (1 + " in key or "* (1 - " in key, key
        assert f"{INSTANCE_PREFIX}0" in key and "_all" not in key
        literals = [n.value for n in ast.walk(lam.body) if isinstance(n, ast.Constant)
                    and isinstance(n.value, float)]
        assert len(literals) >= 2, key  # c and k, both tunable in the key
        for inst in insts:
            order, _ = _run(child.code, list(inst.processing_times), list(inst.due_dates))
            assert sorted(order) == list(range(len(inst.processing_times)))
    assert adapted >= 5


def test_problems_without_descriptors_keep_their_plans() -> None:
    """The job shop has no instance-level feature: the move is never drawn for it, so its
    proposals are drawn exactly as before the move existed; SMTT draws it."""
    from evaluators.jssp.problem import JsspProblem

    jssp = OfflineEngine(JsspProblem.candidate_spec, np.random.default_rng(0))
    smtt = OfflineEngine(SPEC, np.random.default_rng(0))
    drawn = {name: {step.__name__ for _ in range(300) for step in engine._steps(Operator.MODIFY)}
             for name, engine in (("jssp", jssp), ("smtt", smtt))}
    assert "adapt_coefficient" not in drawn["jssp"] and "adapt_coefficient" in drawn["smtt"]
