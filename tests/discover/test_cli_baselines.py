"""``discover baselines`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

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
