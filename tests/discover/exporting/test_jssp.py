"""Job-shop exports carry their Giffler-Thompson builder and pass their self-check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from discover.exporting.standalone import export_baseline
from evaluators.bundled import data_dir


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["mwkr", "fdd_mwkr_active"])
def test_baseline_export_runs_standalone(tmp_path: Path, rule: str) -> None:
    path = tmp_path / f"{rule}.py"
    export_baseline("jssp", rule, path)
    check = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "self-check passed" in check.stdout
    ta01 = data_dir("jssp") / "scheduleopt" / "instances" / "Taillard1993" / "ta01js.txt"
    run = subprocess.run([sys.executable, "-I", str(path), str(ta01)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 0 and "makespan" in run.stdout
