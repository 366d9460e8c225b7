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


# A setup-time objective whose state (time, last job) after a window changes when the
# window is permuted: the pass must cost the rest of the sequence then.
SETUP_COST = '''\
def _prepare(processing_times, due_dates):
    return processing_times, due_dates


def _initial(data):
    return (0, -1)


def _step(state, job, data):
    processing_times, due_dates = data
    t, last = state
    t = t + processing_times[job] + (0 if last < 0 else abs(job - last) % 3)
    return (t, job), max(0, t - due_dates[job])
'''


def _pass(cost_source: str) -> dict[str, object]:
    from discover.offline.structure import _IMPROVE_TEMPLATE, INITIAL, PREPARE, STEP, STEPS
    namespace: dict[str, object] = {}
    exec(cost_source + _IMPROVE_TEMPLATE.format(
        improve=IMPROVE, prepare=PREPARE, initial=INITIAL, step=STEP, steps=STEPS,
        params=", ".join(SPEC.parameters)), namespace)
    return namespace


def _reference_pass(ns: dict[str, object], order: list[int], p: list[int], d: list[int],
                    passes: int, span: int, insert: bool) -> list[int]:
    """The pass as specified, every trial costing the whole sequence."""
    data = ns["_prepare"](p, d)  # type: ignore[operator]

    def total(seq: list[int]) -> float:
        state, value = ns["_initial"](data), 0  # type: ignore[operator]
        for job in seq:
            state, cost = ns["_step"](state, job, data)  # type: ignore[operator]
            value += cost
        return value

    order = list(order)
    for _ in range(passes):
        improved = False
        for i in range(len(order) - 1):
            for k in range(i + 1, min(i + 1 + span, len(order))):
                seg = order[i:k + 1]
                trial = seg[1:] + seg[:1] if insert else [seg[-1], *seg[1:-1], seg[0]]
                candidate = order[:i] + trial + order[k + 1:]
                if total(candidate) < total(order):
                    order, improved = candidate, True
        if not improved:
            break
    return order


def test_improvement_pass_is_the_specified_pass() -> None:
    """Incremental costing and skipped settled windows change nothing but the work."""
    rng = np.random.default_rng(5)
    for source in (COST_SOURCE, SETUP_COST):
        ns = _pass(source)
        for trial in range(12):
            n = int(rng.integers(2, 30))
            p = [int(v) for v in rng.integers(1, 20, n)]
            d = [int(v) for v in rng.integers(0, 10 * n, n)]
            order = [int(v) for v in rng.permutation(n)]
            passes, span, insert = int(rng.integers(1, 4)), int(rng.integers(1, 8)), \
                bool(trial % 2)
            got = ns[IMPROVE](order, p, d, passes, span, insert)  # type: ignore[operator]
            assert got == _reference_pass(ns, order, p, d, passes, span, insert), \
                (source == SETUP_COST, n, passes, span, insert)


def test_improvement_pass_work_is_bounded() -> None:
    """Objective steps per position: O(span) for insertions, O(span²/2) for exchanges."""
    ns = _pass(COST_SOURCE)
    calls = [0]
    step = ns["_step"]

    def counted(state: object, job: int, data: object) -> object:
        calls[0] += 1
        return step(state, job, data)  # type: ignore[operator]

    ns["_step"] = counted
    inst = generate_classes(200, 1, np.random.default_rng(3))[7]
    p, d = list(inst.processing_times), list(inst.due_dates)
    start = _run(SEED_PROGRAMS["mdd"], p, d)
    n, span = len(start), 12
    improve = ns[IMPROVE]
    calls[0] = 0
    settled = improve(start, p, d, 8, span, True)  # type: ignore[operator]
    calls[0] = 0
    improve(settled, p, d, 1, span, True)  # type: ignore[operator]
    one = calls[0]
    assert one <= n * (3 * span + 2)
    calls[0] = 0
    assert improve(settled, p, d, 4, span, True) == settled  # type: ignore[operator]
    assert calls[0] == one  # the first sweep finds nothing: no second sweep
    calls[0] = 0
    improve(settled, p, d, 1, span, False)  # type: ignore[operator]
    assert calls[0] <= n * (span * (span + 3) // 2 + span + 2)


def test_improvement_pass_skips_settled_windows() -> None:
    """A second sweep tries only positions whose window or start state changed."""
    ns = _pass(COST_SOURCE)
    calls = [0]
    step = ns["_step"]

    def counted(state: object, job: int, data: object) -> object:
        calls[0] += 1
        return step(state, job, data)  # type: ignore[operator]

    ns["_step"] = counted
    improve = ns[IMPROVE]
    inst = generate_classes(200, 1, np.random.default_rng(3))[7]
    p, d = list(inst.processing_times), list(inst.due_dates)
    start = _run(SEED_PROGRAMS["mdd"], p, d)
    for insert in (False, True):
        calls[0] = 0
        once = improve(start, p, d, 1, 6, insert)  # type: ignore[operator]
        first = calls[0]
        assert once != start  # the first sweep changed something: a second sweep runs
        calls[0] = 0
        improve(start, p, d, 2, 6, insert)  # type: ignore[operator]
        assert 0 < calls[0] - first < first / 2
