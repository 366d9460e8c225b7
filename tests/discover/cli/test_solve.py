"""``discover solve`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from discover.cli import main


def _instances(tmp_path: Path) -> Path:
    items = [
        {"processing_times": [3, 1, 2, 4], "due_dates": [2, 1, 5, 3], "optimal_solution": 10},
        {"processing_times": [5, 5, 1], "due_dates": [4, 9, 1], "optimal_solution": 4},
    ]
    path = tmp_path / "two.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def test_json_output_is_one_json_object_per_line(tmp_path: Path) -> None:
    """Before: --json printed indented multi-line objects though help says JSON lines."""
    result = CliRunner().invoke(main, ["solve", "--problem", "smtt", "--instances",
                                       str(_instances(tmp_path)), "--method", "dp", "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    rows = [json.loads(line) for line in lines]
    assert [r["instance"] for r in rows] == ["two#0", "two#1"]
    assert all(r["status"] == "optimal" for r in rows)
    assert [r["objective"] for r in rows] == [r["stored"] for r in rows]


def test_nonpositive_processing_time_is_one_clear_error(tmp_path: Path) -> None:
    """Before: accepted with a warning, then dp printed 0 where cpsat found nothing."""
    path = tmp_path / "neg.json"
    path.write_text('[\n {"processing_times": [3, -1, 2], "due_dates": [2, 1, 4]}\n]\n')
    for method in ("dp", "cpsat", "exact"):
        result = CliRunner().invoke(main, ["solve", "--instances", str(path), "--method", method])
        assert result.exit_code == 1
        assert result.output.strip() == (f"Error: {path}:2 (instance 0): processing time must "
                                         "be positive (job 1 has -1)")


def test_serving_reference_is_labelled_a_reference_score(tmp_path: Path) -> None:
    """Before: "solve each instance exactly" and an "objective" column for the oracle,
    which trivial rules beat."""
    spec = tmp_path / "w.json"
    spec.write_text(json.dumps({"trace": "vidur/splitwise_code.csv", "window": 200,
                                "rates": [1.5]}))
    result = CliRunner().invoke(main, ["solve", "--problem", "serving", "--instances", str(spec),
                                       "--method", "oracle"])
    assert result.exit_code == 0, result.output
    assert "reference score" in result.stdout and "not a bound" in result.stdout
    assert "objective" not in result.stdout and "optim" not in result.stdout.lower()
    help_text = CliRunner().invoke(main, ["solve", "--help"]).output
    assert "Solve each instance exactly" not in help_text and "reference" in help_text
    result = CliRunner().invoke(main, ["solve", "--problem", "serving", "--instances", str(spec),
                                       "--method", "oracle", "--json"])
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["reference_role"] == "score" and row["status"] == "feasible"


@pytest.mark.slow
def test_a_time_limited_solve_below_the_stored_value_is_flagged(tmp_path: Path) -> None:
    """A solver stopped by its limit that still beats the file's value says so."""
    import numpy as np

    from evaluators.smtt.generate import SmttFamily, generate_instance

    inst = generate_instance(SmttFamily(60, 0.2, 0.6), np.random.default_rng(3))
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"processing_times": list(inst.processing_times),
                                 "due_dates": list(inst.due_dates),
                                 "optimal_solution": 10**9, "optimum_is_proven": False}]))
    result = CliRunner().invoke(main, ["solve", "--instances", str(path), "--method", "cpsat",
                                       "--time-limit", "1", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["objective"] < 10**9
    assert row["flag"] == ("stored value not optimal" if row["status"] == "optimal"
                           else "beats the stored value")
