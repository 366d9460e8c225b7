"""Numeric tuning: optimise the literals of a program with a maintained optimiser.

Random perturbation (the ``tune`` mutation) finds a good constant only by luck.
Here the literals of a program's priority expressions become a vector that
SciPy's Nelder–Mead simplex minimises, each point scored by a caller-supplied
function (in the loop: the candidate on the probe instances, in the sandbox).
The best point is written back, rounded to three significant digits. The
child is then evaluated like any other candidate (the full training set
confirms or refutes what the probe suggested).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from discover.offline.hoisting import emitted, expand
from discover.offline.rewrite import is_protected, number, value_of
from discover.offline.sites import find_function, find_sites


@dataclass(frozen=True)
class TunedProgram:
    """A program whose literals were optimised.

    Parameters
    ----------
    code
        The tuned source.
    before, after
        The literal values, in source order, before and after.
    score_before, score_after
        The tuning score (on the probe instances) of the parent and of ``code``.
    evaluations
        Points scored by the optimiser.
    """

    code: str
    before: tuple[float, ...]
    after: tuple[float, ...]
    score_before: float
    score_after: float
    evaluations: int

    def __post_init__(self) -> None:
        if len(self.before) != len(self.after):
            raise ValueError("before and after must list the same literals")

    def describe(self) -> str:
        """One line for the program's idea: the constants before and after."""
        def fmt(values: tuple[float, ...]) -> str:
            return "[" + ", ".join(f"{v:g}" for v in values) + "]"

        return (f"tune: Nelder-Mead on the probe set ({self.evaluations} points), constants "
                f"{fmt(self.before)} -> {fmt(self.after)}, probe score "
                f"{self.score_before:.4g} -> {self.score_after:.4g}")


def literals(tree: ast.Module, function_name: str, policy: bool = False
             ) -> list[ast.Constant]:
    """The tunable literals of the candidate function's priority expressions.

    Left out: the ``1`` of protected denominators ``max(x, 1)`` (a guard, not a
    coefficient), integers used as subscripts, and booleans.
    """
    func = find_function(tree, function_name)
    if func is None:
        return []
    guards: set[int] = set()
    for node in ast.walk(func):
        if is_protected(node):
            assert isinstance(node, ast.Call)
            guards.update(id(n) for n in ast.walk(node.args[1]))
        if isinstance(node, ast.Subscript):
            guards.update(id(n) for n in ast.walk(node.slice))
    out: list[ast.Constant] = []
    seen: set[int] = set()
    for site in find_sites(tree, func, policy=policy):
        for node in ast.walk(site.root.get()):
            if (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
                    and not isinstance(node.value, bool) and id(node) not in guards
                    and id(node) not in seen):
                seen.add(id(node))
                out.append(node)
    # Source order (ast.walk is breadth-first), so "before/after" read left to right.
    return sorted(out, key=lambda n: (n.lineno, n.col_offset))


def tune(code: str, function_name: str, score: Callable[[str], float | None], *,
         policy: bool = False, max_evaluations: int = 24) -> TunedProgram | None:
    """Minimise ``score`` over the program's literals; None when nothing improved.

    Parameters
    ----------
    code
        The program (it must define ``function_name``).
    score
        Lower is better; ``None`` (the program failed) counts as infinitely bad.
        Called with the source of each point.
    max_evaluations
        Budget of the simplex (the starting point included).
    """
    tree = ast.parse(code)
    func = find_function(tree, function_name)
    if func is None:
        return None
    # Literals hoisted with an instance-level weight are tuned where the engine edits
    # them, and each point is scored in the form the engine emits (.hoisting).
    expand(func, tree, policy)
    nodes = literals(tree, function_name, policy)
    if not nodes:
        return None
    start = np.array([float(value_of(n)) for n in nodes])
    cache: dict[tuple[float, ...], float] = {}

    def source(x: np.ndarray) -> tuple[tuple[float, ...], str]:
        values = tuple(_rounded(v) for v in x)
        for node, v in zip(nodes, values, strict=True):
            node.value = v
        return values, emitted(tree, function_name, policy)

    def objective(x: np.ndarray) -> float:
        values, text = source(x)
        if values not in cache:
            if len(cache) >= max_evaluations:
                return cache.get(values, math.inf)
            got = score(text)
            cache[values] = math.inf if got is None or not math.isfinite(got) else float(got)
        return cache[values]

    base = objective(start)
    if not math.isfinite(base):
        return None
    steps = np.where(start == 0, 0.1, 0.15 * np.abs(start))
    simplex = np.vstack([start] + [start + np.eye(len(start))[k] * steps[k]
                                   for k in range(len(start))])
    minimize(objective, start, method="Nelder-Mead",
             options={"initial_simplex": simplex, "maxfev": max_evaluations,
                      "xatol": 1e-3, "fatol": 1e-9})
    best_values, best_score = min(cache.items(), key=lambda kv: (kv[1], kv[0]))
    before = tuple(_rounded(v) for v in start)
    if best_score >= base or best_values == before:
        return None
    _, text = source(np.array(best_values))
    return TunedProgram(text, before, best_values, base, best_score, len(cache))


def _rounded(value: float) -> float:
    node = number(abs(float(value)))
    assert isinstance(node.value, float)
    return node.value if value >= 0 else -node.value
