"""Exported baselines: standalone, and identical to the in-package heuristics."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from evaluators.smtt.heuristics import HEURISTICS, ExportError, baseline_source
from evaluators.smtt.heuristics.export import CORE_MODULES, _closure
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness
from tests.evaluators.smtt.heuristics.helpers import instances

ROOT = Path(__file__).resolve().parents[4]
ALLOWED_TOP = set(sys.stdlib_module_names) | {"numpy"}
PROJECT_PACKAGES = ("evaluators", "discover", "sandbox", "archive", "prompts", "tests")


@cache
def _exported(name: str) -> Any:
    namespace: dict[str, Any] = {"__name__": f"exported_{name}"}
    exec(compile(baseline_source(name), f"<export {name}>", "exec"), namespace)
    return namespace["schedule"]


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"known: .*mddc"):
        baseline_source("no_such_rule")


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_source_imports_only_stdlib_and_numpy(name: str) -> None:
    source = baseline_source(name)
    tree = ast.parse(source)
    assert _imports(tree) <= ALLOWED_TOP
    assert ast.get_docstring(tree) and name in ast.get_docstring(tree)  # provenance
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert [a.arg for a in defs["schedule"].args.args] == ["processing_times", "due_dates"]
    assert ast.get_docstring(defs["schedule"])


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_modules_import_only_stdlib_and_numpy(module: str) -> None:
    path = Path(importlib.import_module(module).__file__ or "")
    assert _imports(ast.parse(path.read_text(encoding="utf-8"))) <= ALLOWED_TOP


def test_refuses_project_dependencies() -> None:
    def not_core(p: list[int], d: list[int]) -> list[int]:
        return []

    with pytest.raises(ExportError, match="not a core module"):
        _closure([not_core])
    # A function posing as core code but using a project object.
    namespace: dict[str, Any] = {
        "__name__": CORE_MODULES[0],
        "SmttInstance": SmttInstance,
    }
    exec("def sneaky(p, d):\n    return list(SmttInstance(p, d).processing_times)", namespace)
    with pytest.raises(ExportError, match="outside the standard library"):
        _closure([namespace["sneaky"]])


def _probe_instances() -> list[SmttInstance]:
    rng = np.random.default_rng(2025)
    cases = [SmttInstance((7,), (3,)), SmttInstance((4, 4, 4), (5, 5, 5)),
             SmttInstance((3, 1, 2), (10**12, 10**12, -(10**12)))]
    for n in (5, 30, 120):
        p = rng.integers(1, 101, n)
        total = int(p.sum())
        d = rng.integers(int(0.1 * total), int(0.9 * total), n)
        cases.append(SmttInstance(tuple(map(int, p)), tuple(map(int, d))))
    return cases


_RUNNER = """
import importlib.util, json, sys
root = sys.argv[1]
sys.path[:] = [p for p in sys.path if p and not p.startswith(root)]
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError('exported module imported the project: ' + name)
sys.meta_path.insert(0, Block())
cases = json.load(open(sys.argv[2]))
out = {{}}
for name, file in json.load(open(sys.argv[3])).items():
    spec = importlib.util.spec_from_file_location('export_' + name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out[name] = [module.schedule(list(p), list(d)) for p, d in cases]
assert not any(m.split('.')[0] in {blocked!r} for m in sys.modules)
print(json.dumps(out))
"""


def test_exported_modules_run_standalone(tmp_path: Path) -> None:
    cases = _probe_instances()
    files = {}
    for name in HEURISTICS:
        files[name] = str(tmp_path / f"{name}.py")
        Path(files[name]).write_text(baseline_source(name), encoding="utf-8")
    (tmp_path / "cases.json").write_text(json.dumps(
        [[c.processing_times, c.due_dates] for c in cases]))
    (tmp_path / "files.json").write_text(json.dumps(files))
    code = _RUNNER.format(blocked=PROJECT_PACKAGES)
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(ROOT), str(tmp_path / "cases.json"),
         str(tmp_path / "files.json")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    for name, heuristic in HEURISTICS.items():
        for inst, order in zip(cases, results[name], strict=True):
            assert order == heuristic(inst), name
            assert total_tardiness(inst, order) == total_tardiness(inst, heuristic(inst))


@settings(max_examples=60, deadline=None)
@given(instances(max_n=15, weighted=False))
def test_exported_schedule_matches_in_package(inst: SmttInstance) -> None:
    for name, heuristic in HEURISTICS.items():
        order = _exported(name)(list(inst.processing_times), list(inst.due_dates))
        assert total_tardiness(inst, order) == total_tardiness(inst, heuristic(inst)), name
        assert order == heuristic(inst), name
