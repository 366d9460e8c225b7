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


@pytest.mark.slow
def test_discovered_rule_exports_with_the_active_builder(tmp_path: Path) -> None:
    """A program of a jssp-active run exports with VARIANT = "active": the module's
    self-check (values computed through the sandbox with the active payload) passes."""
    from discover.exporting.standalone import _export
    from evaluators.jssp.builder import FEATURES
    from evaluators.registry import get_problem

    code = (f"def priority({', '.join(FEATURES)}):\n"
            "    return p / max(work_remaining, 1) * (1 + 30 * (est - t) / max(p, 1))\n")
    path = tmp_path / "waiting.py"
    _export(get_problem("jssp-active"), code, "test {title}", [], path, 60.0)
    text = path.read_text(encoding="utf-8")
    assert "VARIANT = 'active'" in text and "active Giffler-Thompson" in text
    check = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "self-check passed" in check.stdout
