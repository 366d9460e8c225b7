"""``discover baselines`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from discover.cli import main


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_instances_directory(tmp_path: Path) -> None:
    """Before: `--instances DIR` for smtt said "no such file"."""
    (tmp_path / "one.json").write_text(json.dumps(
        [{"processing_times": [3, 1, 2, 4], "due_dates": [2, 1, 5, 3], "optimal_solution": 10}]))
    (tmp_path / "two.txt").write_text("5 4\n5 9\n1 1\n")
    code, out, err = invoke("baselines", "--problem", "smtt", "--instances", str(tmp_path),
                            "--methods", "edd,mdd", "--exact", "dp", "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert len(report["references"]) == 2


def _file(tmp_path: Path, stored: int, proven: bool) -> Path:
    # DP optimum of this instance: 10.
    path = tmp_path / "stored.json"
    path.write_text(json.dumps([{"processing_times": [3, 1, 2, 4], "due_dates": [2, 1, 5, 3],
                                 "optimal_solution": stored, "optimum_is_proven": proven}]))
    return path


def test_a_heuristic_below_a_stored_value_is_flagged(tmp_path: Path) -> None:
    """Before: a negative gap (a heuristic beating the stored "optimum") went unflagged."""
    path = _file(tmp_path, 12, proven=False)
    code, out, err = invoke("baselines", "--instances", str(path), "--methods", "edd,mdd")
    assert code == 0, out + err
    assert "reference value" in out and "flagged" in out
    assert "stored#0: mdd scores 10, below the reference 12 (so it is not an optimum)" in out
    code, out, _ = invoke("baselines", "--instances", str(path), "--methods", "mdd", "--json")
    flags = json.loads(out)["flags"]
    assert [(f["kind"], f["by"], f["value"], f["reference"]) for f in flags] == [
        ("beaten_by_heuristic", "mdd", 10.0, 12.0)]


def test_a_claimed_proven_optimum_beaten_is_an_error(tmp_path: Path) -> None:
    code, out, err = invoke("baselines", "--instances", str(_file(tmp_path, 12, proven=True)),
                            "--methods", "mdd")
    assert code == 1
    assert "check the data" in out and "1 claimed proven optimum contradicted" in err


def test_a_stored_value_beaten_by_the_solver_is_flagged(tmp_path: Path) -> None:
    """Before: `--exact` finding 10 below the stored 12 was not reported at all."""
    code, out, err = invoke("baselines", "--instances", str(_file(tmp_path, 12, proven=False)),
                            "--methods", "edd", "--exact", "dp", "--json")
    assert code == 0, out + err
    (flag,) = json.loads(out)["flags"]
    assert flag["kind"] == "beaten_by_solver" and flag["by"] == "dp"
    assert (flag["value"], flag["reference"]) == (10.0, 12.0)
    code, out, err = invoke("baselines", "--instances", str(_file(tmp_path, 7, proven=False)),
                            "--methods", "edd", "--exact", "dp")
    assert code == 1
    assert "stored value 7 is below the optimum 10 that dp proved" in out


def test_serving_reports_ratios_to_a_reference_score_never_gaps() -> None:
    """The oracle is not a bound: no "gap" or "optimal" label, ratios instead, and
    the default generated window is one where the policies differ."""
    code, out, err = invoke("baselines", "--problem", "serving", "--methods",
                            "fcfs,spf,srpt_oracle,las")
    assert code == 0, out + err
    assert "Reference score: oracle on 1 instance" in out
    assert "mean H/ref" in out and "not a bound" in out
    assert "gap" not in out.lower() and "optim" not in out.lower()
    assert "1 generated instance " in err and "n=1000" in err
    code, out, _ = invoke("baselines", "--problem", "serving", "--methods", "fcfs,las,spf",
                          "--json")
    report = json.loads(out)
    assert report["reference_role"] == "score" and report["flags"] == []
    for summary in report["summary"]:
        assert "mean_gap" not in summary and summary["mean_ratio"] is not None
    ratios = {s["method"]: s["mean_ratio"] for s in report["summary"]}
    assert len(set(ratios.values())) == 3, ratios  # the policies differ


@pytest.mark.slow
def test_by_class_is_one_table_with_a_class_column(tmp_path: Path) -> None:
    code, out, err = invoke("baselines", "--methods", "edd,mdd", "--by-class")
    assert code == 0, out + err
    assert out.count("by class") == 1 and "RDD=0.2 TF=0.2" in out and "RDD=1 TF=0.8" in out
    assert "class" in out.split("by class", 1)[1].splitlines()[2]
