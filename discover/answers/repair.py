"""Repairing and completing code taken from a model's answer.

:mod:`discover.answers.extract` finds candidate blocks; this module makes one parse
(re-indentation, tabs, a truncated tail), drops script code that would run on
import (demos, ``__main__`` guards), and completes it with the helper
definitions and imports it uses but does not define. Pure functions on source
text and :mod:`ast` trees.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

_BUILTINS = frozenset(dir(builtins))

# Names a heuristic commonly uses without importing them, and the import that
# defines each. Only modules in the default allowed-import list appear here.
_KNOWN_IMPORTS = {
    "math": "import math",
    "heapq": "import heapq",
    "itertools": "import itertools",
    "functools": "import functools",
    "bisect": "import bisect",
    "collections": "import collections",
    "random": "import random",
    "np": "import numpy as np",
    "numpy": "import numpy",
    "defaultdict": "from collections import defaultdict",
    "deque": "from collections import deque",
    "Counter": "from collections import Counter",
    "heappush": "from heapq import heappush",
    "heappop": "from heapq import heappop",
    "heapify": "from heapq import heapify",
    "lru_cache": "from functools import lru_cache",
    "cmp_to_key": "from functools import cmp_to_key",
    "inf": "from math import inf",
}

# A truncated answer is repaired by dropping at most this many trailing lines.
_MAX_TRUNCATION_REPAIR = 40


@dataclass(frozen=True)
class Repaired:
    """A block after repair: parseable code plus what was done to it."""

    code: str
    tree: ast.Module
    notes: tuple[str, ...]
    truncated: bool


def parse_module(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _expand_leading_tabs(code: str, width: int) -> str:
    out = []
    for line in code.split("\n"):
        stripped = line.lstrip(" \t")
        out.append(line[: len(line) - len(stripped)].expandtabs(width) + stripped)
    return "\n".join(out)


def _dedent_after_first(code: str) -> str:
    """Fix code whose first line lost its indentation but whose other lines kept it."""
    lines = code.split("\n")
    rest = [line for line in lines[1:] if line.strip()]
    if not rest or lines[0] != lines[0].lstrip():
        return code
    return lines[0] + "\n" + textwrap.dedent("\n".join(lines[1:]))


def _layout_variants(code: str) -> list[tuple[str, str | None]]:
    """Re-indentations to try, each with the note that records it."""
    variants: list[tuple[str, str | None]] = [(code, None)]
    variants.append((textwrap.dedent(code), "removed common indentation"))
    for width in (4, 8):
        variants.append(
            (textwrap.dedent(_expand_leading_tabs(code, width)), f"expanded tabs to {width}")
        )
    variants.append((_dedent_after_first(textwrap.dedent(code)), "re-indented after line 1"))
    return variants


def repair(code: str) -> Repaired | None:
    """Make a block parse by re-indenting it, then by dropping truncated tail lines."""
    code = code.strip("\n")
    if not code.strip():
        return None
    for variant, note in _layout_variants(code):
        tree = parse_module(variant)
        if tree is not None:
            return Repaired(variant, tree, (note,) if note else (), truncated=False)
    base = textwrap.dedent(_expand_leading_tabs(code, 4))
    lines = base.split("\n")
    for dropped in range(1, min(_MAX_TRUNCATION_REPAIR, len(lines) - 1) + 1):
        head = "\n".join(lines[:-dropped]).rstrip()
        tree = parse_module(head)
        if tree is not None and head:
            note = f"dropped {dropped} trailing line(s) that did not parse (truncated answer?)"
            return Repaired(head, tree, (note,), truncated=True)
    return None


def defined_functions(tree: ast.Module) -> tuple[str, ...]:
    """Names of the top-level (non-async) functions a module defines."""
    return tuple(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


def _statement_source(code: str, node: ast.stmt) -> str:
    lines = code.split("\n")
    first = node.lineno
    decorators = getattr(node, "decorator_list", [])
    if decorators:
        first = min(first, *(d.lineno for d in decorators))
    end = node.end_lineno if node.end_lineno is not None else node.lineno
    return "\n".join(lines[first - 1 : end])


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
    return "__name__" in names


def strip_script_code(candidate: Repaired) -> Repaired:
    """Drop ``if __name__ == "__main__"`` blocks and top-level calls such as demos.

    They are never part of a heuristic and would run when the sandbox imports it.
    """
    body = candidate.tree.body
    keep: list[ast.stmt] = []
    dropped = 0
    for index, node in enumerate(body):
        is_docstring = (
            index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        )
        if _is_main_guard(node) or (isinstance(node, ast.Expr) and not is_docstring):
            dropped += 1
            continue
        keep.append(node)
    if not dropped:
        return candidate
    code = "\n\n".join(_statement_source(candidate.code, node) for node in keep)
    tree = parse_module(code)
    if tree is None:  # pragma: no cover - statements of a parsed module re-parse
        return candidate
    note = f"removed {dropped} top-level script statement(s) (demo or main guard)"
    return Repaired(code, tree, (*candidate.notes, note), candidate.truncated)


def _bound_names(node: ast.AST) -> set[str]:
    bound: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
            bound.add(sub.id)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(sub.name)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, ast.alias):
            bound.add((sub.asname or sub.name).split(".")[0])
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, ast.Global | ast.Nonlocal):
            bound.update(sub.names)
        elif isinstance(sub, ast.MatchAs | ast.MatchStar) and sub.name:
            bound.add(sub.name)
    return bound


def _free_names(nodes: Iterable[ast.AST]) -> set[str]:
    """Names loaded but bound nowhere in ``nodes`` (and not builtins)."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in nodes:
        loaded |= {
            n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        bound |= _bound_names(node)
    return loaded - bound - _BUILTINS


def _top_level_binds(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def merge_helpers(
    chosen: Repaired, donors: list[Repaired], function_name: str
) -> tuple[str, tuple[str, ...]]:
    """Add definitions and imports the chosen code uses but does not define."""
    nodes: list[ast.AST] = list(chosen.tree.body)
    missing = _free_names(nodes)
    imports: list[str] = []
    helpers: list[str] = []
    notes: list[str] = []
    progress = True
    while missing and progress:
        progress = False
        for donor in donors:
            for node in donor.tree.body:
                binds = _top_level_binds(node) - {function_name}
                if not binds & missing:
                    continue
                source = _statement_source(donor.code, node)
                target = imports if isinstance(node, ast.Import | ast.ImportFrom) else helpers
                if source not in target:
                    target.append(source)
                    nodes.append(node)
                    progress = True
        missing = _free_names(nodes)
    if imports or helpers:
        notes.append(f"merged {len(imports) + len(helpers)} definition(s) from other blocks")
    for name in sorted(missing):
        if name in _KNOWN_IMPORTS and _KNOWN_IMPORTS[name] not in imports:
            imports.append(_KNOWN_IMPORTS[name])
            notes.append(f"added missing `{_KNOWN_IMPORTS[name]}`")
    if not imports and not helpers:
        return chosen.code.rstrip("\n") + "\n", tuple(notes)
    # Keep the chosen code's own docstring and imports first, then what was merged.
    head_end = 0
    for index, node in enumerate(chosen.tree.body):
        leading_doc = index == 0 and isinstance(node, ast.Expr)
        if not (leading_doc or isinstance(node, ast.Import | ast.ImportFrom)):
            break
        head_end = node.end_lineno or node.lineno
    lines = chosen.code.split("\n")
    head, rest = "\n".join(lines[:head_end]).strip("\n"), "\n".join(lines[head_end:]).strip("\n")
    top = "\n".join(part for part in (head, "\n".join(imports)) if part)
    parts = [part for part in (top, *helpers, rest) if part]
    return "\n\n\n".join(parts) + "\n", tuple(notes)
