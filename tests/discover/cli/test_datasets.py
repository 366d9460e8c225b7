"""``discover datasets`` and bundled set names on the command line and in run configurations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from discover.cli import main
from discover.config import ConfigError, EvaluationConfig, RunConfig
from discover.splits.datasets import validation_set
from evaluators.bundled import bundled_sets, find_set
from evaluators.registry import get_problem


def test_datasets_lists_every_set_as_json() -> None:
    result = CliRunner().invoke(main, ["datasets", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == [s.full_name for s in bundled_sets()]
    n500 = next(r for r in rows if r["name"] == "smtt:n500")
    assert n500 | {"files": None} == {
        "name": "smtt:n500", "problem": "smtt", "count": 200, "unit": "instances",
        "reference": "proven optimum", "description": n500["description"], "files": None}
    assert all(Path(f).is_file() for f in n500["files"])


def test_datasets_filters_by_problem_and_has_help() -> None:
    result = CliRunner().invoke(main, ["datasets", "--problem", "jssp", "--json"])
    assert result.exit_code == 0
    assert {r["problem"] for r in json.loads(result.output)} == {"jssp"}
    active = CliRunner().invoke(main, ["datasets", "--problem", "jssp-active", "--json"])
    assert active.exit_code == 0 and active.output == result.output  # jssp's sets
    text = CliRunner().invoke(main, ["datasets", "--problem", "serving"]).output
    assert "serving:conv" in text and "smtt:n100" not in text
    helped = CliRunner().invoke(main, ["datasets", "--help"]).output
    assert "Examples:" in helped and "smtt:n100" in helped
    assert CliRunner().invoke(main, ["datasets", "--problem", "nope"]).exit_code == 2
    assert "datasets" in CliRunner().invoke(main, ["--help"]).output


def test_baselines_accepts_a_set_name() -> None:
    result = CliRunner().invoke(main, ["baselines", "--problem", "smtt", "--instances",
                                       "smtt:n100", "--methods", "mdd", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (mdd,) = report["summary"]
    assert mdd["instances"] == 200 and abs(mdd["mean_gap"] - 1.81) < 0.01  # paper: 1.81


@pytest.mark.parametrize("command", [["solve", "--method", "dp"], ["baselines"]])
def test_unknown_set_name_is_one_clean_line(command: list[str]) -> None:
    result = CliRunner().invoke(main, [command[0], "--problem", "smtt", "--instances",
                                       "smtt:n1000", *command[1:]])
    assert result.exit_code == 1
    assert "smtt:n1000: no such bundled set (known: smtt:n20_uniform" in result.output
    assert "Traceback" not in result.output
    wrong = CliRunner().invoke(main, ["baselines", "--problem", "jssp", "--instances",
                                      "smtt:n100"])
    assert wrong.exit_code == 1 and "a smtt set, not a jssp one" in wrong.output


@pytest.mark.slow
def test_solve_accepts_a_set_name() -> None:
    result = CliRunner().invoke(main, ["solve", "--problem", "jssp", "--instances", "jssp:ft",
                                       "--method", "cpsat", "--time-limit", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert "ft06" in result.output and "ft20" in result.output


def test_run_defaults_name_bundled_sets() -> None:
    assert EvaluationConfig().validation == ("smtt:n100",)
    # Not ta51-80: it holds six of the 16 instances SeEvo's comparison tests on.
    assert RunConfig.for_problem("jssp").evaluation.validation == ("jssp:ta-no16",)
    assert RunConfig.for_problem("serving").evaluation.validation == (
        "serving:conv-second-half", "serving:code-windows")
    for problem in ("smtt", "jssp", "serving"):
        for name in RunConfig.for_problem(problem).evaluation.validation:
            assert find_set(name, problem).count > 0
    jssp = validation_set(get_problem("jssp"), ("jssp:ta-no16",))
    assert len(jssp.instances) == 64 and None not in jssp.references


def test_misspelt_validation_set_fails_at_configuration_time() -> None:
    with pytest.raises(ConfigError, match=r"evaluation.validation: smtt:n10: no such bundled"):
        EvaluationConfig(validation=("smtt:n10",))
    EvaluationConfig(validation=("some/file.json",))  # paths are checked when loaded
