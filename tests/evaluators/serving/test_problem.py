"""ServingProblem as the core sees it: registry, contract, harness, sandbox, references, export."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaluators.base import Failure, FailureReason, GeneratorSpec, InstanceError, Status
from evaluators.registry import get_problem, problem_names
from evaluators.serving import harness
from evaluators.serving.decisions import Request, State
from evaluators.serving.instance import Scenario, Score, ServingInstance
from evaluators.serving.policies import compile_priority
from evaluators.serving.problem import ServingProblem
from evaluators.serving.replay import Schedule


@pytest.fixture(scope="module")
def problem() -> ServingProblem:
    return ServingProblem()


@pytest.fixture(scope="module")
def windows(problem: ServingProblem) -> list[ServingInstance]:
    """Two 300-request training windows (one synthetic, one from the conversation trace)."""
    return problem.generate(GeneratorSpec(n=300, count=2), np.random.default_rng(7))


def test_registered() -> None:
    assert "serving" in problem_names()
    problem = get_problem("serving")
    assert isinstance(problem, ServingProblem) and problem.name == "serving"
    assert problem.scenario.server.chunk_size == 512
    assert problem.reference_methods == ("oracle", "best_known")


def test_candidate_spec_seeds_and_vocabulary(problem: ServingProblem) -> None:
    spec = problem.candidate_spec
    assert spec.function_name == "priority" and spec.parameters == ("request", "state")
    assert spec.signature == "def priority(request, state):"
    for name in Request.__slots__ + State.__slots__:
        assert name in spec.docstring
    assert set(problem.seed_programs) == {"fcfs", "spf", "las"}
    for source in problem.seed_programs.values():
        (fn,) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
        assert [a.arg for a in fn.args.args] == ["request", "state"]
    env = {"request": Request(3, 1.5, 700, 12, True, 1, 45),
           "state": State(10.0, 4, 30, 900, 7609), "math": math}
    for expr in spec.feature_vocabulary:
        assert math.isfinite(float(eval(compile(expr, "<vocab>", "eval"), env)))


def test_generate_mixes_bursts_and_the_trace(windows: list[ServingInstance]) -> None:
    synthetic, trace = windows
    assert synthetic.name.startswith("bursty-cv2") and trace.name.startswith("conv[")
    assert trace.meta["start"] + 300 <= 19366 // 2  # the first half only
    assert all(0.8 <= w.meta["load"] <= 1.0 and w.size == 300 for w in windows)


def test_harness_round_trip_equals_the_heuristics(problem: ServingProblem,
                                                  windows: list[ServingInstance]) -> None:
    for inst in windows:
        payload = json.loads(json.dumps(problem.payload(inst)))  # what crosses the channel
        for name, source in problem.seed_programs.items():
            raw = harness.call(compile_priority(source), payload)
            assert all(type(v) is int for v in raw)
            solution = problem.validate(inst, raw)
            assert isinstance(solution, Schedule)
            if name != "fcfs":  # the fcfs heuristic runs the vLLM builder, the seed 512
                assert list(solution) == list(problem.heuristics[name](inst))
            assert problem.objective(inst, solution) == problem.objective(inst, raw)
            assert 0 <= problem.objective(inst, solution) <= 100


def test_references(problem: ServingProblem, windows: list[ServingInstance]) -> None:
    inst = windows[0]
    oracle = problem.reference(inst, "oracle")
    assert oracle.status is Status.FEASIBLE and oracle.method == "oracle:srpt_oracle"
    best = problem.reference(inst, "best_known")
    values = {n: problem.objective(inst, h(inst)) for n, h in problem.heuristics.items()}
    assert best.objective == min(values.values()) <= oracle.objective == values["srpt_oracle"]
    assert 0 <= best.lower_bound <= best.objective
    assert problem.stored_reference(inst) is None
    with pytest.raises(KeyError):
        problem.reference(inst, "dp")


def test_objective_rejects_forged_raw_logs(problem: ServingProblem,
                                           windows: list[ServingInstance]) -> None:
    raw = list(problem.heuristics["spf"](windows[0]))
    forged = [*raw[:4], raw[4] - 1, *raw[5:-1]]
    failure = problem.validate(windows[0], forged)
    assert isinstance(failure, Failure) and failure.reason is FailureReason.MISSING
    with pytest.raises(ValueError, match="not a valid decision log"):
        problem.objective(windows[0], forged)


@pytest.mark.slow
def test_sandbox_evaluation(problem: ServingProblem, windows: list[ServingInstance]) -> None:
    """A seed and a hostile-but-legal candidate through the real sandbox and scoring."""
    from sandbox import SandboxPool, evaluate
    from sandbox.limits import Limits

    with SandboxPool(workers=1, isolation="none", limits=Limits(memory_mb=1024)) as pool:
        result = evaluate(problem, windows, problem.seed_programs["spf"], pool, 60.0)
        assert result.ok, result.message
        expected = [problem.objective(i, problem.heuristics["spf"](i)) for i in windows]
        assert [s.objective for s in result.scores] == expected
        nan = evaluate(problem, windows[:1], "def priority(request, state):\n"
                       "    return float('nan')\n", pool, 60.0)
        assert not nan.ok and "NaN" in nan.message


def test_load_csv_and_workload_file(problem: ServingProblem, conv_csv: Path,
                                    tmp_path: Path) -> None:
    small = ServingProblem(window=500, windows=2, rate=3.0)
    insts = small.load(conv_csv)
    assert [i.size for i in insts] == [500, 500] and insts[0].meta["rate"] == 3.0
    spec = tmp_path / "w.json"
    spec.write_text(json.dumps({"trace": "vidur/splitwise_code.csv", "window": 300,
                                "rates": [1.5]}))
    (code,) = problem.load(spec)
    assert code.name.startswith("code[0:300]") and code.scenario == problem.scenario
    assert problem.stored_reference(code) is None
    spec.write_text(json.dumps({"trace": "vidur/splitwise_code.csv", "window": 300,
                                "rates": [1.5], "reference": "oracle"}))
    (code,) = problem.load(spec)
    assert problem.stored_reference(code) == problem.reference(code, "oracle").objective


def test_load_directory(conv_csv: Path, tmp_path: Path) -> None:
    """A directory stands for every trace and workload file in it (before: a
    directory was read as a trace file and failed)."""
    small = ServingProblem(window=200, windows=1, rate=3.0)
    lines = conv_csv.read_text(encoding="utf-8").splitlines()
    (tmp_path / "b.csv").write_text("\n".join(lines[:401]) + "\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text("\n".join(lines[:201]) + "\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("notes\n", encoding="utf-8")
    insts = small.load(tmp_path)
    assert [i.size for i in insts] == [200, 200]
    assert [i.fingerprint for i in insts] == [
        i.fingerprint for f in ("a.csv", "b.csv") for i in small.load(tmp_path / f)]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InstanceError, match="holds no traces"):
        small.load(empty)


def test_export_runs_standalone(problem: ServingProblem, windows: list[ServingInstance],
                                tmp_path: Path) -> None:
    code = ("from __future__ import annotations\n\n"
            "def simulate(*a):\n    raise RuntimeError('shadowed')\n\n"
            "def priority(request, state):\n    return -request.prompt_tokens\n")
    source = problem.standalone_source(code)
    imports = [ln for ln in source.splitlines() if ln.startswith(("import ", "from "))]
    assert not any("evaluators" in ln or "numpy" in ln for ln in imports), imports
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(source, namespace)
    inst = windows[1]
    metrics = namespace["serve"](inst.arrival, inst.prompt, inst.output)
    ours = problem.metrics(inst, problem.heuristics["spf"](inst))
    assert np.mean(metrics["latency"]) == pytest.approx(ours.mean_latency, rel=1e-12)
    assert namespace["attainment"](metrics) == pytest.approx(ours.attainment)
    assert "def priority(request, state)" in problem.baseline_source("spf")
    sarathi: dict[str, Any] = {"__name__": "baseline"}
    exec(problem.baseline_source("sarathi"), sarathi)
    assert sarathi["SERVER"]["chunk_size"] == 512
    fcfs: dict[str, Any] = {"__name__": "baseline"}
    exec(problem.baseline_source("fcfs"), fcfs)
    assert fcfs["SERVER"]["chunk_size"] == 0
    with pytest.raises(KeyError, match="output lengths"):
        problem.baseline_source("srpt_oracle")


def test_instances_pickle_for_worker_pools(windows: list[ServingInstance]) -> None:
    import pickle

    for inst in windows:
        again = pickle.loads(pickle.dumps(inst))
        assert again.fingerprint == inst.fingerprint and again.scenario == inst.scenario


@pytest.mark.slow
def test_export_contract_pieces(problem: ServingProblem, tmp_path: Path) -> None:
    """The problem's own contract (public API): a baseline exports and self-checks."""
    from discover.exporting.standalone import export_baseline
    from evaluators.serving.export import export_samples

    assert problem.export_contract().samples is export_samples
    result = export_baseline("serving", "spf", tmp_path / "spf.py")
    samples = export_samples(problem)
    assert list(result.expected) == [problem.objective(i, problem.heuristics["spf"](i))
                                     for i in samples]
    assert any(v > 0 for v in result.expected)  # the self-check is sensitive to the order
    # The module's own objective agrees with discover's on every score.
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec((tmp_path / "spf.py").read_text(), namespace)
    for inst in samples:
        for score in Score:
            scored = inst.with_scenario(Scenario(inst.scenario.server, score=score))
            payload = scored.payload()
            log = namespace["_discover_call"](namespace["priority"], payload)
            assert namespace["_discover_objective"](payload, log) == pytest.approx(
                problem.objective(scored, log), rel=1e-12)
        with pytest.raises(ValueError):
            namespace["_discover_objective"](inst.payload(), [1, 512, inst.size, 0, 0])


def test_from_options() -> None:
    problem = ServingProblem.from_options({"cost": "h100", "chunk_size": 0, "ttft_slo": 0.5,
                                           "score": "p99_ttft", "window": 1500, "rate": 4})
    s = problem.scenario
    assert s.server.cost.name == "h100" and s.server.builder == "vllm"
    assert s.ttft_slo == 0.5 and s.tpot_slo == 0.1 and s.score is Score.P99_TTFT
    assert problem.window == 1500 and problem.rate == 4.0 and problem.load_factor is None
    assert ServingProblem.from_options({}).scenario == ServingProblem().scenario
    with pytest.raises(ValueError, match="unknown serving option 'chunk'"):
        ServingProblem.from_options({"chunk": 5})
    with pytest.raises(ValueError, match=r"score 'fastest' is not one of slo, mean_latency"):
        ServingProblem.from_options({"score": "fastest"})
