"""The layout of ``discover/``: one subpackage per concept, and the docs say so.

Issue 17 regrouped the flat package by concept; these checks keep it that way when
new modules arrive: each needs a subpackage, a docstring and a row in
docs/architecture.md's layout table.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "discover"
ENTRY_POINTS = {"__init__", "config", "preflight", "runner"}
"""Modules left at the top of ``discover/``: the package's public entry points."""
DOC = ROOT / "docs" / "architecture.md"


def test_only_the_entry_points_are_top_level_modules() -> None:
    extra = sorted(p.name for p in PACKAGE.glob("*.py") if p.stem not in ENTRY_POINTS)
    assert extra == [], f"give these a subpackage (and a row in {DOC.name}): {extra}"


def test_every_subpackage_says_what_concept_it_holds() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        text = init.read_text(encoding="utf-8")
        assert re.match(r'\s*(from __future__[^\n]*\n\s*)?[rRuU]?"""\S', text), init


def test_the_architecture_doc_lists_every_module() -> None:
    doc = DOC.read_text(encoding="utf-8")
    missing = sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")
                     if p.name not in ("__init__.py", "__main__.py")
                     and f"`{p.relative_to(ROOT).as_posix()}`" not in doc)
    assert missing == [], f"{DOC.name} has no row for {missing} (its docstring's summary)"
    gone = sorted(path for path in re.findall(r"`(discover/[\w/]+\.py)`", doc)
                  if not (ROOT / path).is_file())
    assert gone == [], f"docs/architecture.md names modules that do not exist: {gone}"


def test_tests_mirror_the_subpackages() -> None:
    # A test of a subpackage lives in tests/discover/<subpackage>/, not beside the entry points.
    tests = ROOT / "tests" / "discover"
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    misplaced = []
    for path in sorted(tests.glob("test_*.py")):
        used = set(re.findall(r"^\s*from discover\.(\w+)", path.read_text(encoding="utf-8"),
                              re.M))
        if used and used <= subpackages:
            misplaced.append(path.name)
    assert misplaced == [], f"move into tests/discover/<subpackage>/: {misplaced}"
