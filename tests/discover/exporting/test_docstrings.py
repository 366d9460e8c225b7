"""What an exported module says about itself: no developer notes, honest score labels."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from archive import Archive, Evaluation, EvaluationStatus, InstanceResult, Program, Split
from discover.exporting.standalone import export_baseline, export_program
from evaluators.registry import get_problem


@pytest.mark.slow
@pytest.mark.parametrize(("problem", "baseline"), [("jssp", "mwkr"), ("serving", "spf")])
def test_exported_docstring_has_no_notes_about_the_sandbox(tmp_path: Path, problem: str,
                                                          baseline: str) -> None:
    """Before: the copied builder's / simulator's module docstring, written for
    discover's developers ("runs inside the sandbox next to untrusted candidate
    code", "must not import anything from evaluators"), opened the exported file."""
    path = tmp_path / f"{baseline}.py"
    export_baseline(problem, baseline, path)
    source = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source)) or ""
    assert docstring.startswith(f"Classic heuristic '{baseline}'")
    assert "Notes from the program" not in docstring
    for word in ("sandbox", "untrusted", "evaluators", "trusted side"):
        assert word not in source.lower(), word


@pytest.mark.slow
def test_exported_serving_program_reports_a_ratio_to_the_reference_score(
        tmp_path: Path) -> None:
    """Before: "mean gap -40 %" for a policy scored against the oracle, which is no bound."""
    code = get_problem("serving").seed_programs["spf"]
    window = InstanceResult("w#0", objective=3.0, gap=-40.0)
    evaluation = Evaluation(Split.TRAIN, EvaluationStatus.OK, score=-40.0, gap=-40.0,
                            seconds=1.0, per_instance=(window,))
    with Archive.open(f"sqlite:///{tmp_path / 'runs.sqlite'}") as store:
        run = store.create_run("serving", {}, seed=1)
        program = store.record_candidate(run, Program(code, "seed"), evaluations=[evaluation])
        export_program(store, program, tmp_path / "spf.py")
    docstring = ast.get_docstring(ast.parse((tmp_path / "spf.py").read_text())) or ""
    assert "mean H/ref 0.6 (to the reference score)" in docstring
    assert "gap" not in docstring
