"""JsspProblem as the core sees it: registry, candidate contract, harness round trip."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from evaluators.base import Failure, FailureReason, GeneratorSpec, Status
from evaluators.bundled import UnknownDataset
from evaluators.jssp import harness
from evaluators.jssp.builder import FEATURES
from evaluators.jssp.instance import JsspInstance
from evaluators.jssp.problem import ActiveJsspProblem, JsspProblem
from evaluators.jssp.rules import RULE_NAMES, compile_priority, schedule_with
from evaluators.registry import get_problem, problem_names, spec_of


def test_registered() -> None:
    assert "jssp" in problem_names()
    problem = get_problem("jssp")
    assert isinstance(problem, JsspProblem) and problem.name == "jssp"
    assert problem.variant == "non_delay"
    with pytest.raises(ValueError):
        JsspProblem(variant="semi")


def test_candidate_spec_matches_seeds_and_vocabulary() -> None:
    spec = JsspProblem.candidate_spec
    assert spec.function_name == "priority" and spec.parameters == FEATURES
    assert spec.signature == f"def priority({', '.join(FEATURES)}):"
    assert all(name in spec.docstring for name in FEATURES)
    assert set(JsspProblem.seed_programs) == {"spt", "mwkr", "mopnr", "fdd_mwkr"}
    for source in JsspProblem.seed_programs.values():
        (fn,) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
        assert tuple(a.arg for a in fn.args.args) == FEATURES
    env = dict(zip(FEATURES, range(3, 3 + len(FEATURES)), strict=True))
    for expr in spec.feature_vocabulary:
        value = eval(compile(expr, "<vocab>", "eval"), {"max": max}, env)
        assert math.isfinite(value)


@pytest.mark.parametrize("variant", ["non_delay", "active"])
def test_harness_round_trip(ft06: JsspInstance, variant: str) -> None:
    problem = JsspProblem(variant)
    payload = json.loads(json.dumps(problem.payload(ft06)))  # what crosses the channel
    for name, source in problem.seed_programs.items():
        raw = harness.call(compile_priority(source), payload)
        solution = problem.validate(ft06, raw)
        assert not isinstance(solution, Failure)
        heuristic = name if variant == "non_delay" else f"{name}_active"
        assert solution == list(problem.heuristics[heuristic](ft06))
        assert problem.objective(ft06, solution) >= 55


def test_validate_rejects_tampered_output(ft06: JsspInstance) -> None:
    problem = JsspProblem()
    good = list(problem.heuristics["spt"](ft06))
    shifted = [max(s - 1, 0) for s in good]
    result = problem.validate(ft06, shifted)
    assert isinstance(result, Failure) and result.reason is FailureReason.INFEASIBLE


def test_generate_and_references() -> None:
    problem = JsspProblem()
    rng = np.random.default_rng(5)
    insts = problem.generate(GeneratorSpec(n=6, count=2, params={"machines": 4}), rng)
    assert len(insts) == 2 and all(i.class_label == "6x4" for i in insts)
    default = problem.generate(GeneratorSpec(n=20), np.random.default_rng(5))
    assert default[0].class_label == "20x15"
    ref = problem.reference(insts[0], "cpsat", time_limit=10)
    assert ref.status is Status.OPTIMAL
    assert problem.stored_reference(insts[0]) is None
    with pytest.raises(KeyError):
        problem.reference(insts[0], "dp")


def test_stored_reference_is_upper_bound(taillard_dir: Path) -> None:
    problem = JsspProblem()
    (ta41,) = problem.load(taillard_dir / "ta41js.txt")
    assert problem.stored_reference(ta41) == 2005.0


def test_generic_baselines_run_on_jssp(taillard_dir: Path) -> None:
    from discover.reporting.baselines import run_baselines

    problem = JsspProblem()
    instances = problem.load(taillard_dir / "ta01js.txt")
    report = run_baselines(problem, instances, ["spt", "fdd_mwkr_active"])
    by_name = {s.method: s for s in report.summaries}
    assert by_name["spt"].mean_gap == pytest.approx(100 * (1462 - 1231) / 1231)
    assert by_name["fdd_mwkr_active"].mean_gap == pytest.approx(100 * (1546 - 1231) / 1231)
    assert report.references[0].proven


def test_standalone_source_for_discovered_program() -> None:
    code = ("from __future__ import annotations\n\n"
            "def build(*a):\n    raise RuntimeError('shadowed')\n\n"
            f"def priority({', '.join(FEATURES)}):\n    return p - work_remaining\n")
    source = JsspProblem().standalone_source(code)
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(source, namespace)
    schedule = namespace["schedule"]
    assert callable(schedule)
    starts = schedule({"machines": [[0, 1], [1, 0]], "durations": [[2, 3], [4, 1]]})
    assert starts == [[0, 4], [0, 4]]


def test_cpsat_method_name_agrees() -> None:
    from evaluators.jssp import cpsat, problem

    assert problem.CPSAT == cpsat.METHOD
    assert problem.CPSAT_DET == cpsat.DETERMINISTIC_METHOD
    assert JsspProblem.reference_methods == (cpsat.METHOD, cpsat.DETERMINISTIC_METHOD)


# The probe study's rule: waits (est - t > 0) only for an operation worth it.
WAITING_RULE = (f"def priority({', '.join(FEATURES)}):\n"
                "    wr = work_remaining\n"
                "    return (p / max(wr - p, 1) / max(wr, 1) * (1 + 8 * next_machine_queue / "
                "max(wr, 1))\n"
                "            * (1 + 30 * (est - t) / max(p, 1)))\n")


def test_active_problem_registered(ft06: JsspInstance) -> None:
    assert "jssp-active" in problem_names()
    problem = get_problem("jssp-active")
    assert isinstance(problem, ActiveJsspProblem) and problem.name == "jssp-active"
    assert problem.variant == "active" and problem.payload(ft06)["variant"] == "active"
    assert spec_of(problem) == "jssp-active"
    again = get_problem(spec_of(problem))
    assert again.name == "jssp-active" and isinstance(again, JsspProblem)
    assert again.variant == "active"
    assert get_problem("jssp").variant == "non_delay"  # jssp itself is unchanged
    assert "est - t" in problem.description and "est - t" in problem.candidate_spec.docstring
    assert "est - t" not in JsspProblem.description
    assert problem.export_contract().problem == "jssp-active"
    assert set(problem.summary_heuristics) <= set(problem.heuristics)
    assert problem.for_heuristic("mwkr_active") is problem
    plain = problem.for_heuristic("mwkr")
    assert plain.name == "jssp" and plain.variant == "non_delay"


def test_active_problem_loads_jssp_sets() -> None:
    problem = get_problem("jssp-active")
    assert len(problem.load("jssp:ta-no16")) == 64
    with pytest.raises(UnknownDataset):
        problem.load("smtt:n100")


def test_active_standalone_source_uses_active_builder(taillard_dir: Path) -> None:
    (ta01,) = JsspProblem().load(taillard_dir / "ta01js.txt")
    source = get_problem("jssp-active").standalone_source(WAITING_RULE)
    assert "VARIANT = 'active'" in source
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(source, namespace)
    schedule = namespace["schedule"]
    assert callable(schedule)
    flat = [s for row in schedule(ta01) for s in row]
    assert flat == list(schedule_with(ta01, compile_priority(WAITING_RULE), "active"))


@pytest.mark.slow
def test_variant_reaches_the_sandbox(taillard_dir: Path) -> None:
    from sandbox import OutcomeStatus, SandboxPool

    (ta01,) = JsspProblem().load(taillard_dir / "ta01js.txt")
    rule = compile_priority(WAITING_RULE)
    expected = {v: list(schedule_with(ta01, rule, v)) for v in ("non_delay", "active")}
    assert expected["non_delay"] != expected["active"]
    spec = JsspProblem.candidate_spec
    with SandboxPool(workers=1, isolation="auto",
                     harness_packages=spec.sandbox_packages) as pool:
        for name, variant in (("jssp", "non_delay"), ("jssp-active", "active")):
            problem = get_problem(name)
            outcome = pool.run(WAITING_RULE, problem.candidate_spec, [problem.payload(ta01)],
                               30.0)
            assert outcome.status is OutcomeStatus.OK, outcome.error
            (raw,) = outcome.outputs
            solution = problem.validate(ta01, raw)
            assert not isinstance(solution, Failure)
            assert solution == expected[variant], name


def test_reference_heuristic_is_the_rule_in_the_candidates_builder() -> None:
    """The run compares programs with the configured rule built the way they are."""
    active, plain = get_problem("jssp-active"), get_problem("jssp")
    rule = active.run_defaults["evaluation.runtime_reference"]
    assert rule == plain.run_defaults["evaluation.runtime_reference"] == "mwkr"
    assert active.reference_heuristic(rule) == "mwkr_active"
    assert plain.reference_heuristic(rule) == "mwkr"  # jssp: unchanged
    assert JsspProblem("active").reference_heuristic("fdd_mwkr") == "fdd_mwkr_active"
    for name in RULE_NAMES:
        mapped = active.reference_heuristic(name)
        assert mapped == f"{name}_active" and mapped in active.heuristics
        assert active.reference_heuristic(mapped) == mapped  # a full name stays as it is
        assert plain.reference_heuristic(name) == name
    assert active.reference_heuristic("no-such-rule") == "no-such-rule"
