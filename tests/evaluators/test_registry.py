"""Problem specs: names, entry points, module:factory and .py files, resolved everywhere alike."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from discover.splits.references import compute_references
from evaluators.base import GeneratorSpec
from evaluators.registry import ProblemNotFound, get_problem, problem_names, spec_of

_PROBLEM_FILE = '''
from evaluators.smtt.problem import SmttProblem
from evaluators.base import CandidateSpec
from dataclasses import replace


class FileProblem(SmttProblem):
    name = "zzfileproblem"
    candidate_spec = replace(SmttProblem.candidate_spec, harness="zzfileharness.harness")


def problem():
    return FileProblem()
'''

_HARNESS = '''
def call(function, payload):
    # Reversed arguments would break every seed: proves this harness, not smtt's, ran.
    return function(list(payload["processing_times"]), list(payload["due_dates"]))
'''


@pytest.fixture
def problem_file(tmp_path: Path) -> Path:
    (tmp_path / "zzfileharness").mkdir()
    (tmp_path / "zzfileharness" / "__init__.py").write_text("")
    (tmp_path / "zzfileharness" / "harness.py").write_text(textwrap.dedent(_HARNESS))
    path = tmp_path / "my_problem.py"
    path.write_text(textwrap.dedent(_PROBLEM_FILE))
    return path


def test_builtin_names_and_module_factory_resolve_alike() -> None:
    assert {"smtt", "jssp", "jssp-active", "serving"} <= set(problem_names())
    by_name = get_problem("smtt")
    by_factory = get_problem("evaluators.smtt.problem:SmttProblem")
    assert type(by_name) is type(by_factory)
    assert spec_of(by_factory) == "evaluators.smtt.problem:SmttProblem"
    get_problem("smtt")
    assert spec_of(by_name) == "smtt"


@pytest.mark.parametrize(("spec", "message"), [
    ("nosuch", r"unknown problem 'nosuch' \(known: .*smtt.*module:factory"),
    ("no_such_module_xyz:Factory", r"problem module 'no_such_module_xyz' cannot be imported"),
    ("evaluators.smtt.problem:Nope", r"module 'evaluators.smtt.problem' has no 'Nope'"),
    ("/nonexistent/problem.py", r"problem file /nonexistent/problem.py does not exist"),
    ("evaluators.jssp.problem:JsspProblem.__init__", r"its factory failed"),
])
def test_bad_specs_fail_in_one_line(spec: str, message: str) -> None:
    with pytest.raises(ProblemNotFound, match=message) as caught:
        get_problem(spec)
    assert "\n" not in str(caught.value)


def test_a_relative_file_spec_travels_as_an_absolute_path(problem_file: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(problem_file.parent)
    problem = get_problem(f"{problem_file.name}:problem")
    assert spec_of(problem) == f"{problem_file}:problem"


@pytest.mark.slow
def test_a_py_file_problem_resolves_in_spawned_reference_workers(problem_file: Path) -> None:
    problem = get_problem(str(problem_file))
    assert problem.name == "zzfileproblem" and spec_of(problem) == str(problem_file)
    instances = problem.generate(GeneratorSpec(n=8, count=1, params={"rdd": 0.6, "tf": 0.6}),
                                 np.random.default_rng(1))[:2] * 2
    # Two spawned processes: each resolves the file spec again (a name lookup would fail).
    refs = compute_references(problem, instances, "dp", workers=2)
    assert [r.objective for r in refs] == [problem.reference(i, "dp").objective
                                           for i in instances]


@pytest.mark.slow
def test_a_py_file_problem_harness_runs_in_the_sandbox(problem_file: Path) -> None:
    from sandbox import OutcomeStatus, SandboxPool

    problem = get_problem(str(problem_file))
    spec = problem.candidate_spec
    assert spec.sandbox_packages == ("evaluators", "zzfileharness")
    inst = problem.generate(GeneratorSpec(n=6, count=1, params={"rdd": 0.6, "tf": 0.6}),
                            np.random.default_rng(2))[0]
    with SandboxPool(workers=1, harness_packages=spec.sandbox_packages) as pool:
        outcome = pool.run(problem.seed_programs["edd"], spec, [problem.payload(inst)], 20.0)
    assert outcome.status is OutcomeStatus.OK, outcome.error
    assert problem.validate(inst, outcome.outputs[0]) == list(problem.heuristics["edd"](inst))


@pytest.mark.slow
def test_a_dask_worker_resolves_the_spec_and_binds_the_file_problems_harness(
        problem_file: Path) -> None:
    """What a Dask worker does with a request (called in-process: no cluster needed)."""
    from discover.executors import remote
    from discover.executors.wire import decode_outcome
    from sandbox import Limits, OutcomeStatus, PayloadSet

    problem = get_problem(str(problem_file))
    assert remote.harness_packages(str(problem_file)) == ("evaluators", "zzfileharness")
    inst = problem.generate(GeneratorSpec(n=6, count=1, params={"rdd": 0.6, "tf": 0.6}),
                            np.random.default_rng(3))[0]
    request = remote.SandboxRequest(problem.seed_programs["edd"], problem.candidate_spec,
                                    PayloadSet.from_payloads([problem.payload(inst)]), 20.0,
                                    True, "auto", Limits(), str(problem_file))
    try:
        outcome = decode_outcome(remote.evaluate_request(request), 1, 1 << 20)
    finally:
        remote.close_pools()
    assert outcome.status is OutcomeStatus.OK, outcome.error
    assert problem.validate(inst, outcome.outputs[0]) == list(problem.heuristics["edd"](inst))
