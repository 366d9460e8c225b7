"""The package layering, read from the source with :mod:`ast` (no import needed).

discover (orchestration) sits on top of archive, sandbox and evaluators. Below it:

* ``archive`` imports none of the other packages (statuses that originate in
  the sandbox or the evaluators are mirrored by value; tests/test_vocabulary.py
  keeps the mirrors equal);
* ``evaluators`` imports none of them either (problems are plain code);
* ``sandbox`` imports only ``evaluators.base`` (the candidate contract and the
  problem protocol), never a concrete problem, the archive or discover.

Any import counts, including one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("discover", "archive", "sandbox", "evaluators")

ALLOWED: dict[str, set[str]] = {
    # package: modules of the *other* packages it may import
    "archive": set(),
    "evaluators": set(),
    "sandbox": {"evaluators.base"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = path.relative_to(ROOT).with_suffix("").parts
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - node.level])
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from evaluators import smtt`` imports the submodule evaluators.smtt
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names
                         if module in PACKAGES)
    return found


def _violations(package: str, allowed: set[str]) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top not in PACKAGES or top == package:
                continue
            if module in allowed or (module in PACKAGES and
                                     any(a.startswith(module + ".") for a in allowed)):
                continue
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_lower_layers_import_only_what_they_may(package: str) -> None:
    assert _violations(package, ALLOWED[package]) == []


def test_the_check_sees_the_imports_it_allows() -> None:
    # Not vacuous: without its allowance the sandbox's use of evaluators.base is reported,
    # and a relative import resolves to its absolute module.
    assert any("sandbox/pool.py" in v and v.endswith("imports evaluators.base")
               for v in _violations("sandbox", set()))
    found = {m for _, m in _imports(ROOT / "sandbox" / "pool.py")}
    assert "sandbox.outcome" in found
