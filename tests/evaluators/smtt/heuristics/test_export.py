"""Exported baselines: standalone, and identical to the in-package heuristics."""

from __future__ import annotations

import ast
import importlib
import inspect
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


def project_free_path(entries: list[str], root: str, install_dirs: list[str]) -> list[str]:
    """``sys.path`` without the project's own directories.

    Drops the project root and every directory inside it, except those of the Python
    installation (``install_dirs``: stdlib and site-packages), so a virtualenv that lives
    inside the clone keeps its packages. Paths are compared whole (``/a/clone-2`` is not
    inside ``/a/clone``). The source of this function runs in the standalone check.
    """
    import os

    def inside(path: str, parent: str) -> bool:
        return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)

    root = os.path.realpath(root)
    installed = [os.path.realpath(d) for d in install_dirs]
    installed = [d for d in installed if not inside(root, d)]  # never exempt the root itself
    kept = []
    for entry in entries:
        real = os.path.realpath(entry) if entry else os.getcwd()
        if inside(real, root) and not any(inside(real, d) for d in installed):
            continue
        kept.append(entry)
    return kept


_RUNNER = """
import importlib.util, json, site, sys, sysconfig
paths = sysconfig.get_paths()
install_dirs = [paths[k] for k in ('stdlib', 'platstdlib', 'purelib', 'platlib')]
sys.path[:] = project_free_path(sys.path, sys.argv[1], install_dirs + site.getsitepackages())
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


def _run_standalone(tmp_path: Path, sources: dict[str, str],
                    cases: list[SmttInstance]) -> subprocess.CompletedProcess[str]:
    """Run each source's ``schedule`` on ``cases`` in a fresh interpreter that cannot
    import the project (isolated mode, project directories off ``sys.path``)."""
    files = {}
    for name, source in sources.items():
        files[name] = str(tmp_path / f"{name}.py")
        Path(files[name]).write_text(source, encoding="utf-8")
    (tmp_path / "cases.json").write_text(json.dumps(
        [[c.processing_times, c.due_dates] for c in cases]))
    (tmp_path / "files.json").write_text(json.dumps(files))
    code = inspect.getsource(project_free_path) + _RUNNER.format(blocked=PROJECT_PACKAGES)
    return subprocess.run(
        [sys.executable, "-I", "-c", code, str(ROOT), str(tmp_path / "cases.json"),
         str(tmp_path / "files.json")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
    )


def test_exported_modules_run_standalone(tmp_path: Path) -> None:
    cases = _probe_instances()
    proc = _run_standalone(tmp_path, {name: baseline_source(name) for name in HEURISTICS},
                           cases)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    for name, heuristic in HEURISTICS.items():
        for inst, order in zip(cases, results[name], strict=True):
            assert order == heuristic(inst), name
            assert total_tardiness(inst, order) == total_tardiness(inst, heuristic(inst))


def test_standalone_check_catches_a_project_import(tmp_path: Path) -> None:
    # The check above must be able to fail: a module that needs the project does not run.
    source = ("from evaluators.smtt.objective import total_tardiness\n"
              "def schedule(processing_times, due_dates):\n    return []\n")
    proc = _run_standalone(tmp_path, {"leaky": source}, _probe_instances()[:1])
    assert proc.returncode != 0
    assert "exported module imported the project: evaluators" in proc.stderr


def test_project_free_path_keeps_a_virtualenv_inside_the_clone(tmp_path: Path) -> None:
    clone, python = tmp_path / "clone", tmp_path / "python"
    venv_site = clone / ".venv" / "lib" / "python3.11" / "site-packages"
    stdlib = python / "lib" / "python3.11"
    sibling = tmp_path / "clone-2"  # shares the root's prefix, not inside it
    entries = [str(clone), str(clone / "experiments"), str(venv_site), str(stdlib),
               str(python / "lib" / "python311.zip"), str(sibling)]
    kept = project_free_path(entries, str(clone), [str(venv_site), str(stdlib)])
    assert kept == [str(venv_site), str(stdlib), str(python / "lib" / "python311.zip"),
                    str(sibling)]
    # An installation directory that contains the project does not exempt it.
    assert project_free_path([str(clone)], str(clone), [str(tmp_path)]) == []


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(instances(max_n=15, weighted=False))
def test_exported_schedule_matches_in_package(inst: SmttInstance) -> None:
    for name, heuristic in HEURISTICS.items():
        order = _exported(name)(list(inst.processing_times), list(inst.due_dates))
        assert total_tardiness(inst, order) == total_tardiness(inst, heuristic(inst)), name
        assert order == heuristic(inst), name
