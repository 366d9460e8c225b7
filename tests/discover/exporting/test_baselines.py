"""Every exportable classic heuristic exports, once, and passes its own self-check."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from discover.exporting.standalone import export_baseline
from evaluators.registry import get_problem
from evaluators.serving.policies import ORACLE_HEURISTICS


def _top_level_functions(path: Path) -> Counter[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return Counter(n.name for n in tree.body if isinstance(n, ast.FunctionDef))


@pytest.mark.parametrize("name", [n for n in get_problem("serving").heuristics
                                  if n not in ORACLE_HEURISTICS])
def test_every_serving_policy_exports_and_checks_itself(tmp_path: Path, name: str) -> None:
    """Before: ``export --baseline fcfs`` failed ("exported code gives 3.33 … but the
    library's heuristic gives 0.0"): FCFS runs without chunked prefill, and the
    self-check generated its instances on the scenario's chunking server."""
    path = tmp_path / f"{name}.py"
    result = export_baseline("serving", name, path)
    assert len(result.expected) >= 3
    run = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "self-check passed" in run.stdout


@pytest.mark.parametrize(("problem", "name"), [("serving", "spf"), ("jssp", "spt")])
def test_a_baseline_module_holds_its_simulator_once(tmp_path: Path, problem: str,
                                                    name: str) -> None:
    """Before: the standalone baseline source was wrapped in the simulator a second
    time (1,500 lines for SPF, every simulator function defined twice)."""
    path = tmp_path / f"{name}.py"
    export_baseline(problem, name, path)
    repeated = {f: k for f, k in _top_level_functions(path).items() if k > 1}
    assert repeated == {}
