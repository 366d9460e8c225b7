"""``discover solve`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

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
