"""Standalone exports: self-check passes, objectives equal the archive's, no project import."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from archive import Archive, Split
from discover.exporting.render import split_program
from discover.exporting.standalone import ExportError, export_baseline, export_program, export_run
from evaluators.registry import get_problem
from evaluators.smtt.instance import SmttInstance
from tests.discover.archive_fixtures import FANCY

PROJECT_PACKAGES = {"archive", "discover", "evaluators", "sandbox", "prompts", "experiments"}

_RUN_EXPORTED = """\
import json, runpy, sys
namespace = runpy.run_path(sys.argv[1], run_name="exported")
payloads = json.load(sys.stdin)
print(json.dumps([[int(j) for j in namespace["schedule"](**p)] for p in payloads]))
"""


def _self_check(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # -I: no PYTHONPATH, no user site, script directory only — discover is not importable
    # unless the module imported it, and it must not.
    return subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def _objectives(path: Path, instances: list[SmttInstance], cwd: Path) -> list[float]:
    """Objectives of the exported function, run in a fresh interpreter, scored by discover."""
    problem = get_problem("smtt")
    payloads = [problem.payload(i) for i in instances]
    done = subprocess.run([sys.executable, "-I", "-c", _RUN_EXPORTED, str(path)],
                          input=json.dumps(payloads), capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=True)
    orders = json.loads(done.stdout)
    return [problem.objective(i, o) for i, o in zip(instances, orders, strict=True)]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.slow
def test_exported_program_matches_its_archived_evaluation(
        smtt_run: tuple[Archive, dict[str, int]], smtt_train: list[SmttInstance],
        smtt_validation: list[SmttInstance], tmp_path: Path) -> None:
    archive, ids = smtt_run
    target = tmp_path / "out" / "fancy.py"
    result = export_program(archive, ids["fancy"], target)
    assert result.program_id == ids["fancy"] and len(result.expected) == 3
    check = _self_check(target, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "self-check passed" in check.stdout
    assert not _imports(target) & PROJECT_PACKAGES
    detail = archive.program(ids["fancy"])
    for split, instances in ((Split.TRAIN, smtt_train), (Split.VALIDATION, smtt_validation)):
        archived = [r.objective for r in detail.evaluations[split].per_instance]
        assert _objectives(target, instances, tmp_path) == archived


@pytest.mark.slow
def test_provenance_docstring(smtt_run: tuple[Archive, dict[str, int]], tmp_path: Path) -> None:
    archive, ids = smtt_run
    target = tmp_path / "fancy.py"
    export_program(archive, ids["fancy"], target)
    text = target.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert f"program     {ids['fancy']} (island 1, generation 1, operator modify)" in doc
    assert f"run         {ids['run']} (problem smtt, seed 3" in doc
    assert f"parents     {ids['mdd']} (mutation)" in doc
    assert "model       openai/gpt-4.1-mini" in doc
    assert "idea        MDD with SPT ties" in doc
    assert "train: score" in doc and "validation: score" in doc
    assert "Slack-aware MDD variant proposed by the model." in doc  # the program's own docstring
    assert "def schedule(processing_times: list[int], due_dates: list[int])" in doc
    # The program's __main__ block is gone (only the self-check's remains); future import first.
    assert text.count('if __name__ == "__main__":') == 1
    assert "print(schedule([3, 1, 2], [2, 1, 5]))" not in text
    body = ast.parse(text).body
    assert isinstance(body[1], ast.ImportFrom) and body[1].module == "__future__"


def test_run_export_picks_the_best_validation_program(
        smtt_run: tuple[Archive, dict[str, int]], tmp_path: Path) -> None:
    archive, ids = smtt_run
    result = export_run(archive, ids["run"], tmp_path / "best.py")
    best = archive.best(ids["run"], Split.VALIDATION, top=1)[0].summary.id
    assert best == ids["fancy"]  # MDD-like beats EDD on validation
    assert (result.program_id, result.split, result.notes) == (best, Split.VALIDATION, ())
    assert "selection   best of run" in (tmp_path / "best.py").read_text(encoding="utf-8")


@pytest.mark.slow
def test_run_without_validation_falls_back_to_train(
        smtt_run: tuple[Archive, dict[str, int]], tmp_path: Path) -> None:
    archive, ids = smtt_run
    result = export_run(archive, ids["run2"], tmp_path / "solo.py")
    assert (result.program_id, result.split) == (ids["solo"], Split.TRAIN)
    assert "train split" in result.notes[0]
    with pytest.raises(ExportError, match="no successfully evaluated program"):
        export_run(archive, ids["run3"], tmp_path / "none.py")


@pytest.mark.slow
def test_duplicate_export_reports_the_originals_scores(
        smtt_run: tuple[Archive, dict[str, int]], tmp_path: Path) -> None:
    archive, ids = smtt_run
    export_program(archive, ids["dup"], tmp_path / "dup.py")
    doc = ast.get_docstring(ast.parse((tmp_path / "dup.py").read_text(encoding="utf-8"))) or ""
    assert f"duplicate   of program {ids['fancy']}" in doc and "validation: score" in doc


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mddc", "aug_mdd"])
def test_baseline_export(name: str, tmp_path: Path, smtt_train: list[SmttInstance]) -> None:
    target = tmp_path / f"{name}.py"
    result = export_baseline("smtt", name, target)
    assert result.baseline == name
    assert _self_check(target, tmp_path).returncode == 0
    assert not _imports(target) & PROJECT_PACKAGES
    heuristic = get_problem("smtt").heuristics[name]
    library = [get_problem("smtt").objective(i, heuristic(i)) for i in smtt_train[:10]]
    assert _objectives(target, smtt_train[:10], tmp_path) == library


def test_unknown_baseline(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="nope"):
        export_baseline("smtt", "nope", tmp_path / "x.py")
    with pytest.raises(ExportError, match="unknown problem"):
        export_baseline("nosuch", "mdd", tmp_path / "x.py")


@pytest.mark.slow
@pytest.mark.parametrize(("code", "message"), [
    ("def schedule(processing_times, due_dates):\n    raise RuntimeError('nope')\n",
     "RuntimeError: nope"),
    ("def schedule(processing_times, due_dates):\n    return [0] * len(due_dates)\n",
     "duplicate"),
    ("def schedule(processing_times, due_dates):\n    return [float(j) for j in "
     "range(len(due_dates))]\n", "non_integer"),
    ("import random\n\ndef schedule(processing_times, due_dates):\n    order = list(range("
     "len(due_dates)))\n    random.shuffle(order)\n    return order\n", "self-check"),
    ("def schedule(processing_times, due_dates):\n    while True:\n        pass\n",
     "did not finish"),
])
def test_bad_programs_are_not_exported(tmp_path: Path, code: str, message: str) -> None:
    with Archive.open(f"sqlite:///{tmp_path / 'a.sqlite'}") as archive:
        from archive import Program
        run = archive.create_run("smtt", {}, seed=0)
        pid = archive.record_candidate(run, Program(code, "modify"))
        target = tmp_path / "bad.py"
        with pytest.raises(ExportError, match=message):
            export_program(archive, pid, target, timeout=3)
        assert not target.exists()


def test_split_program() -> None:
    parts = split_program(FANCY)
    assert parts.future == ("annotations",)
    assert parts.docstring == "Slack-aware MDD variant proposed by the model."
    assert "__main__" not in parts.body and parts.body.startswith("import numpy as np")
    with pytest.raises(ExportError, match="reserved"):
        split_program("def _discover_call(f, p):\n    return 1\n")
    with pytest.raises(ExportError, match="does not parse"):
        split_program("def schedule(:\n")
    with pytest.raises(ExportError, match="shares its line"):
        split_program("from __future__ import annotations; import math\n")


@pytest.mark.slow
def test_docstring_text_is_escaped(smtt_run: tuple[Archive, dict[str, int]],
                                   tmp_path: Path) -> None:
    archive, ids = smtt_run
    from archive import Program
    code = 'def schedule(processing_times, due_dates):\n    return list(range(len(due_dates)))\n'
    pid = archive.record_candidate(ids["run3"], Program(code, "modify",
                                                        idea='tricky """ idea \\ with quotes'))
    export_program(archive, pid, tmp_path / "tricky.py")
    doc = ast.get_docstring(ast.parse((tmp_path / "tricky.py").read_text(encoding="utf-8")))
    assert doc is not None and 'tricky """ idea \\ with quotes' in doc
