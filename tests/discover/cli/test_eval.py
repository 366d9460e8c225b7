"""``discover eval``: one candidate file through the sandbox, scored against stored optima."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from discover.cli import eval as eval_cli
from discover.cli import main
from evaluators.bundled import bundled_file, find_set
from evaluators.jssp.problem import JsspProblem
from evaluators.registry import get_problem
from evaluators.smtt.problem import SmttProblem
from sandbox import SandboxPool
from tests.sandbox.support import strict_expectation
from tests.system_components import Component, find, require_strict_sandbox


@pytest.fixture(scope="module")
def instance_file(smtt_paper_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 instances of the paper's n20 set (two per class), with stored optima."""
    items = json.loads((smtt_paper_dir / "n20_uniform.json").read_text())[::20]
    path = tmp_path_factory.mktemp("eval") / "n20_slice.json"
    path.write_text(json.dumps(items))
    return path


def _candidate(tmp_path: Path, code: str) -> Path:
    path = tmp_path / "candidate.py"
    path.write_text(code)
    return path


def test_ok_candidate_json(tmp_path: Path, instance_file: Path) -> None:
    require_strict_sandbox()  # --sandbox strict
    problem = SmttProblem()
    code = problem.seed_programs["mdd"]
    result = CliRunner().invoke(main, ["eval", "--problem", "smtt", str(_candidate(tmp_path, code)),
                                       "--instances", str(instance_file), "--json",
                                       "--sandbox", "strict"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    instances = problem.load(instance_file)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    schedule = namespace["schedule"]
    truth = sum(problem.objective(i, schedule(list(i.processing_times), list(i.due_dates)))
                for i in instances)
    assert data["status"] == "ok"
    assert data["instances"] == 40
    assert data["total_objective"] == truth
    assert data["total_reference"] == sum(i.optimum for i in instances)  # type: ignore[misc]
    assert data["mean_gap"] > 0
    assert data["isolation"] == strict_expectation()[1]  # full, or full(unshare) without bwrap


@pytest.mark.slow
def test_ok_candidate_text(tmp_path: Path, instance_file: Path) -> None:
    code = SmttProblem().seed_programs["edd"]
    result = CliRunner().invoke(main, ["eval", str(_candidate(tmp_path, code)),
                                       "--instances", str(instance_file)])
    assert result.exit_code == 0, result.output
    for word in ("status", "ok", "objective", "gap", "mean", "time"):
        assert word in result.output
    # The default (auto) sandbox reports the level this machine reaches: full with
    # bubblewrap, partial without it (the line may wrap, hence the joined words).
    with SandboxPool(workers=1) as pool:
        level = pool.isolation_level
    if find(Component.BUBBLEWRAP).available:
        assert level == "full"
    assert f"(isolation {level})" in " ".join(result.output.split())


@pytest.mark.parametrize(("code", "status", "detail"), [
    ("def schedule(processing_times, due_dates):\n    return due_dates[1000]\n",
     "exception", "IndexError"),
    ("def schedule(processing_times, due_dates):\n    return [0] * len(due_dates)\n",
     "invalid_output", "duplicate"),
    ("import os\ndef schedule(processing_times, due_dates):\n    return []\n",
     "precheck_failed", "import of 'os' is not allowed"),
    pytest.param("def schedule(processing_times, due_dates):\n    while True:\n        pass\n",
                 "timeout", "time limit", marks=pytest.mark.slow),  # waits out the limit
])
def test_failing_candidates_exit_nonzero(tmp_path: Path, instance_file: Path, code: str,
                                         status: str, detail: str) -> None:
    path = _candidate(tmp_path, code)
    args = ["eval", str(path), "--instances", str(instance_file), "--time-limit", "0.5"]
    as_json = status != "timeout"  # one case checks the text output
    result = CliRunner().invoke(main, [*args, "--json"] if as_json else args)
    assert result.exit_code == 1, result.output
    if as_json:
        data = json.loads(result.stdout)
        assert data["status"] == status
        assert detail in json.dumps(data)
    else:
        assert status in result.output and "reason" in result.output
        assert detail in result.output


def test_bad_input_gives_clear_errors(tmp_path: Path, instance_file: Path) -> None:
    missing = tmp_path / "nope.py"
    result = CliRunner().invoke(main, ["eval", str(missing), "--instances", str(instance_file)])
    assert result.exit_code == 1
    assert "cannot read candidate" in result.output
    bad_instances = tmp_path / "bad.json"
    bad_instances.write_text("[{\"processing_times\": [1, 2]}]")
    good = _candidate(tmp_path, SmttProblem().seed_programs["edd"])
    result = CliRunner().invoke(main, ["eval", str(good), "--instances", str(bad_instances)])
    assert result.exit_code == 1
    assert "bad.json" in result.output
    result = CliRunner().invoke(main, ["eval", str(good), "--time-limit", "0"])
    assert result.exit_code == 2


def test_default_instance_set_is_bundled(monkeypatch: pytest.MonkeyPatch,
                                         smtt_paper_dir: Path) -> None:
    assert eval_cli.default_instance_set(get_problem("smtt")) == "smtt:n20_uniform"
    assert bundled_file("smtt:n20_uniform").samefile(smtt_paper_dir / "n20_uniform.json")
    for name in ("smtt", "jssp", "jssp-active", "serving"):
        # every default exists
        find_set(eval_cli.default_instance_set(get_problem(name)), name)
    monkeypatch.delitem(eval_cli.DEFAULT_SETS, "evaluators.jssp")
    with pytest.raises(click.UsageError, match="no default instance set"):
        eval_cli.default_instance_set(get_problem("jssp"))


def test_default_set_follows_the_data_package() -> None:
    """jssp-active has no entry of its own: it reads jssp's sets, so it gets jssp's default;
    a problem without a default (or without data) is told to pass --instances."""
    assert eval_cli.default_instance_set(get_problem("jssp-active")) == "jssp:la"
    assert "jssp-active" not in eval_cli.DEFAULT_SETS
    assert eval_cli.DEFAULT_SETS.keys() == {get_problem(name).data_package
                                           for name in ("smtt", "jssp", "serving")}
    for data_package in (None, "elsewhere"):
        problem = JsspProblem()
        problem.data_package = data_package
        with pytest.raises(click.UsageError, match="'jssp' has no default instance set"):
            eval_cli.default_instance_set(problem)


@pytest.mark.slow
def test_jssp_active_evaluates_on_the_default_set(tmp_path: Path) -> None:
    """``discover eval --problem jssp-active`` without --instances scores the rule on
    jssp:la in the active builder: its total is MWKR_ACTIVE's, not non-delay MWKR's."""
    problem = get_problem("jssp-active")
    instances = problem.load("jssp:la")
    args = ["eval", "--problem", "jssp-active",
            str(_candidate(tmp_path, problem.seed_programs["mwkr"])), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["instance_files"] == ["jssp:la"] and data["instances"] == len(instances) == 40

    def total(heuristic: str) -> float:
        return sum(problem.objective(i, problem.heuristics[heuristic](i)) for i in instances)

    assert data["total_objective"] == total("mwkr_active") != total("mwkr")


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["eval", "--help"])
    assert result.exit_code == 0
    assert "discover eval --problem smtt" in result.output


@pytest.mark.slow
def test_serving_reference_is_a_score_with_a_ratio(tmp_path: Path) -> None:
    """Before: the oracle's value was printed as the "gap" to a reference, negative
    whenever a policy beat it."""
    from evaluators.serving.problem import ServingProblem

    spec = tmp_path / "w.json"
    spec.write_text(json.dumps({"trace": "vidur/splitwise_code.csv", "window": 200,
                                "rates": [1.5], "reference": "oracle"}))
    code = ServingProblem().seed_programs["fcfs"]
    args = ["eval", "--problem", "serving", str(_candidate(tmp_path, code)),
            "--instances", str(spec)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "reference score, not a bound" in result.stdout and "mean H/ref" in result.stdout
    assert "gap" not in result.stdout and "optim" not in result.stdout.lower()
    data = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert data["reference_role"] == "score" and "mean_gap" not in data
    assert data["total_ratio"] == data["total_objective"] / data["total_reference"]
