"""The step budget: a parent near the runtime gate's limit gets no structure added.

A run with a timing gate (:mod:`discover.search.timing`) rejects a candidate whose
steps on the timing instances exceed a multiple of the reference heuristic's. A
parent's *load* is its own share of that limit (:attr:`.ParentInfo.load`). Its
children mostly do more work than it does: an edit that makes the constructed
order worse leaves more for the improvement pass to repair (its later sweeps
re-try every window that changed), and edits tend to add terms to a key that is
evaluated O(n²) times. On a seed-1 SMTT search (budget 2000, 57 % of the
evaluations rejected as too slow) the share of a parent's children rejected grew
with its load: 12 % below 0.7, 35 % at 0.80-0.85, 51 % at 0.85-0.90, 73 % at
0.90-0.95 and 77 % above 0.95, and two thirds of all children came from parents
above 0.85 (``experiments/offline_engine/load_study.py``). A structure added to a
parent at 0.75-0.80 was rejected 20 times in 21 (2 in 6 at 0.65-0.75), hence the
threshold 0.7.

So, from :data:`LOW` on, the engine adds no structure (improvement pass, look-ahead,
state feature) to a parent: such a child is all but certain to be rejected. Its
structural draw (10-20 % of the children, see ``engine._STRUCTURAL``) either varies
the structures the program has or *lightens* it (:func:`lighten`): one fewer sweep or a
narrower window of the improvement pass, insertions instead of exchanges, a shorter
look-ahead short-list, or a middle tie-break component of the key dropped, which makes
room for later edits.

Edits of the key are left alone, however near the limit. A first version lightened
every child of a parent above 0.95 (and a share rising from 0.7): the too-slow share
fell to 30-35 %, but the three seeds' winners scored 1.07-1.09 % on ``smtt:n100``
(before: 0.92-1.09 %), their best training scores stalled at 0.95-1.02 % (before: 0.63
for seed 3), and in seed 3's earlier run the lineage of the best program had made its
gains by unlightened edits of parents at loads 0.88-0.95 (a TF term at 0.69): the
frontier is where the good programs are, and lightening every child there trades them
for weaker ones. (Lightened children ran at 0.90× their parent's steps on average, the
others at 1.51×.)

Lightening knows the engine's own structures (their numbers are the search's to
vary, see :mod:`.structure` and :mod:`.shape`); it names no rule and does not
depend on the problem.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np

from discover.offline.shape import TOP_SIZES, find_decision, has_lookahead, shortlist_size
from discover.offline.structure import SPANS, improvement_calls

LOW = 0.7
"""Load from which no structure is added; the structural draw varies or lightens."""

Edit = Callable[[np.random.Generator], str]
"""A prepared edit of the tree: applies itself and says what it did."""


def lighten(tree: ast.Module, func: ast.FunctionDef, rng: np.random.Generator) -> str | None:
    """Make ``func`` do less work, in place, by one of the applicable edits.

    Returns
    -------
    str | None
        A description (``"budget: move span 10 -> 6"``), or None when the program
        has nothing to lighten.
    """
    edits = [*_improvement_edits(func), *_lookahead_edits(func), *_key_edits(func)]
    if not edits:
        return None
    edit = edits[int(rng.integers(len(edits)))]
    return "budget: " + edit(rng)


def _improvement_edits(func: ast.FunctionDef) -> list[Edit]:
    """Edits of the improvement pass's call ``_improve(..., passes, span, insert)``."""
    edits: list[Edit] = []
    for call in improvement_calls(func):
        if len(call.args) < 4:
            continue
        passes, span, insert = call.args[-3], call.args[-2], call.args[-1]
        if not (isinstance(passes, ast.Constant) and isinstance(passes.value, int)
                and isinstance(span, ast.Constant) and isinstance(span.value, int)
                and isinstance(insert, ast.Constant) and isinstance(insert.value, bool)):
            continue
        if passes.value > 1:
            edits.append(_set(passes, passes.value - 1,
                              f"improvement sweeps {passes.value} -> {passes.value - 1}"))
        narrower = [s for s in SPANS if s < span.value]
        if narrower:
            edits.append(_narrow(span, span.value, narrower, "move span"))
        if not insert.value and span.value >= 2:
            # An exchange trial re-costs the whole window (O(span²/2) steps per
            # position), an insertion trial two steps (O(span)).
            edits.append(_set(insert, True, "improvement moves exchanges -> insertions"))
    return edits


def _lookahead_edits(func: ast.FunctionDef) -> list[Edit]:
    """A shorter look-ahead short-list (``_top = sorted(...)[:m]``): O(m²) keys per decision."""
    size = shortlist_size(func)
    if size is None:
        return []
    current = int(size.value)  # type: ignore[arg-type]
    shorter = [s for s in TOP_SIZES if s < current]
    return [_narrow(size, current, shorter, "look-ahead short-list")] if shorter else []


def _key_edits(func: ast.FunctionDef) -> list[Edit]:
    """Drop a middle component of the deciding key tuple (each costs O(n²) evaluations).

    The first component decides and the last breaks the remaining ties (usually the
    index), so only components between them go. Not under a look-ahead, whose
    short-list sorts by its own copy of the key.
    """
    if has_lookahead(func):
        return []
    decision = find_decision(func)
    if decision is None or not isinstance(decision.key, ast.Tuple) or len(decision.key.elts) < 3:
        return []
    key = decision.key

    def drop(rng: np.random.Generator) -> str:
        k = 1 + int(rng.integers(len(key.elts) - 2))
        gone = key.elts.pop(k)
        return f"drop key component {ast.unparse(gone)}"

    return [drop]


def _set(node: ast.Constant, value: int, description: str) -> Edit:
    def edit(rng: np.random.Generator) -> str:
        node.value = value
        return description
    return edit


def _narrow(node: ast.Constant, old: int, smaller: list[int], what: str) -> Edit:
    def edit(rng: np.random.Generator) -> str:
        new = int(rng.choice(smaller))
        node.value = new
        return f"{what} {old} -> {new}"
    return edit
