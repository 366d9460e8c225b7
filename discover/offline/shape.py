"""Structural moves on a construction loop: finding the decision, look-ahead.

A constructive rule decides, inside a ``while`` loop, with a statement of the form
``best = min(pool, key=lambda j: KEY)`` and then advances its own state with
augmented assignments that use the choice (``t += processing_times[best]``). The
moves here change how that decision is made, generically — they know nothing of
the problem beyond that loop shape and, for state features, its objective stated
as steps (``CandidateSpec.cost_source``, see :mod:`.structure`):

``look-ahead``
    Score a choice by the key one step later: the ``m`` best items by the key are
    short-listed (``_top``); each is scored by the best key among the other
    short-listed items *evaluated at the state after it* (the loop's own state
    updates, with the choice replaced by the item) added to its own key. ``m`` is a
    number the search varies; there is no weight, as a literal on the growing key
    would tie the rule to the training size (see .scale).
    O(n + m²) key evaluations per decision instead of O(n).
``state``
    Features of the sequence built so far added to the key, computed once per
    decision: see :mod:`.state`.

Nothing here names a rule: the short-list, the state advance and the features
are built from the program's own key, its own state updates and the problem's
objective.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

import numpy as np

TOP = "_top"
TOP_SIZES = (2, 3, 4, 5, 6)


@dataclass
class Decision:
    """The deciding statement of a construction loop and its context (one tree)."""

    loop: ast.While
    index: int
    """Position of the deciding statement in ``loop.body``."""
    target: str
    pool: str
    item: str
    lam: ast.Lambda
    updates: list[tuple[str, ast.expr]]
    """The loop's state updates ``name += value`` after the decision (value uses target)."""

    @property
    def key(self) -> ast.expr:
        return self.lam.body

    @property
    def statement(self) -> ast.Assign:
        stmt = self.loop.body[self.index]
        assert isinstance(stmt, ast.Assign)
        return stmt


def find_decision(func: ast.FunctionDef) -> Decision | None:
    """The first ``NAME = min(POOL, key=lambda ITEM: KEY)`` directly in a ``while`` body."""
    for loop in ast.walk(func):
        if not isinstance(loop, ast.While):
            continue
        for index, stmt in enumerate(loop.body):
            found = _decision(stmt)
            if found is None:
                continue
            target, pool, lam = found
            updates = []
            for later in loop.body[index + 1:]:
                if (isinstance(later, ast.AugAssign) and isinstance(later.op, ast.Add)
                        and isinstance(later.target, ast.Name) and uses(later.value, target)):
                    updates.append((later.target.id, later.value))
            return Decision(loop, index, target, pool, lam.args.args[0].arg, lam, updates)
    return None


def _decision(stmt: ast.stmt) -> tuple[str, str, ast.Lambda] | None:
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "min" and len(call.args) == 1
            and isinstance(call.args[0], ast.Name)):
        return None
    keys = [k for k in call.keywords if k.arg == "key"]
    if len(keys) != 1 or not isinstance(keys[0].value, ast.Lambda):
        return None
    lam = keys[0].value
    if len(lam.args.args) != 1:
        return None
    return stmt.targets[0].id, call.args[0].id, lam


def uses(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def replace_names(node: ast.expr, mapping: dict[str, ast.expr]) -> ast.expr:
    """A copy of ``node`` with free uses of the mapped names replaced (lambdas respected)."""

    class Swap(ast.NodeTransformer):
        def __init__(self) -> None:
            self.shadowed: list[set[str]] = []

        def visit_Lambda(self, lam: ast.Lambda) -> ast.AST:
            self.shadowed.append({a.arg for a in lam.args.args})
            self.generic_visit(lam)
            self.shadowed.pop()
            return lam

        def visit_Name(self, name: ast.Name) -> ast.AST:
            if (isinstance(name.ctx, ast.Load) and name.id in mapping
                    and not any(name.id in s for s in self.shadowed)):
                return copy.deepcopy(mapping[name.id])
            return name

    result = Swap().visit(copy.deepcopy(node))
    assert isinstance(result, ast.expr)
    return result


def first_component(key: ast.expr) -> ast.expr:
    return key.elts[0] if isinstance(key, ast.Tuple) and key.elts else key


def with_first_component(key: ast.expr, first: ast.expr) -> ast.expr:
    if isinstance(key, ast.Tuple) and key.elts:
        return ast.Tuple([first, *key.elts[1:]], ast.Load())
    return first


def has_lookahead(func: ast.FunctionDef) -> bool:
    """Whether the function already short-lists its choices (``_top``)."""
    return any(isinstance(n, ast.Name) and n.id == TOP for n in ast.walk(func))


def add_or_vary_lookahead(func: ast.FunctionDef, rng: np.random.Generator) -> str | None:
    """Apply the look-ahead move to ``func`` in place; a description or None."""
    if has_lookahead(func):
        return _vary_top(func, rng)
    decision = find_decision(func)
    if decision is None:
        return None
    key = decision.key
    states = {name for name, _ in decision.updates}
    if not states or not any(uses(key, s) for s in states):
        return None  # the key does not depend on the state: one step later is the same
    item = decision.item
    other = "_i" if item != "_i" else "_k"
    # The state after choosing ``item``: every update with the choice replaced by it.
    advanced: dict[str, ast.expr] = {}
    for name, value in decision.updates:
        step = replace_names(value, {decision.target: ast.Name(item, ast.Load())})
        base = advanced.get(name, ast.Name(name, ast.Load()))
        advanced[name] = ast.BinOp(base, ast.Add(), step)
    later = replace_names(first_component(key), {**advanced, item: ast.Name(other, ast.Load())})
    ahead = replace_names(ast.parse(
        f"min((_later for {other} in {TOP} if {other} != {item}), default=0)", mode="eval").body,
        {"_later": later})
    # No literal weight: a coefficient on the (growing) key would calibrate the rule to
    # the training size (see .scale). (The key one step later alone, with the key now
    # as the tie-break, was tried: with a short-list of two it picks the wrong job.)
    first = first_component(key)
    scored = with_first_component(key, ast.BinOp(copy.deepcopy(first), ast.Add(), ahead))
    size = int(rng.choice(TOP_SIZES))
    shortlist = ast.Assign([ast.Name(TOP, ast.Store())], ast.Subscript(
        ast.Call(ast.Name("sorted", ast.Load()), [ast.Name(decision.pool, ast.Load())],
                 [ast.keyword("key", ast.Lambda(lambda_args(item), copy.deepcopy(key)))]),
        ast.Slice(None, ast.Constant(size)), ast.Load()))
    stmt = decision.statement
    assert isinstance(stmt.value, ast.Call)
    stmt.value = ast.Call(ast.Name("min", ast.Load()), [ast.Name(TOP, ast.Load())],
                          [ast.keyword("key", ast.Lambda(lambda_args(item), scored))])
    decision.loop.body.insert(decision.index, shortlist)
    ast.fix_missing_locations(func)
    return f"structure: look-ahead over the {size} best choices (key now + one step later)"


def shortlist_size(func: ast.FunctionDef) -> ast.Constant | None:
    """The literal ``m`` of the look-ahead's short-list ``_top = sorted(...)[:m]``, if any."""
    for node in ast.walk(func):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == TOP
                and isinstance(node.value, ast.Subscript)
                and isinstance(node.value.slice, ast.Slice)
                and isinstance(node.value.slice.upper, ast.Constant)
                and isinstance(node.value.slice.upper.value, int)):
            return node.value.slice.upper
    return None


def _vary_top(func: ast.FunctionDef, rng: np.random.Generator) -> str | None:
    size = shortlist_size(func)
    if size is None:
        return None
    old = int(size.value)  # type: ignore[arg-type]
    new = int(rng.choice([s for s in TOP_SIZES if s != old]))
    size.value = new
    return f"structure: look-ahead short-list {old} -> {new}"


def lambda_args(name: str) -> ast.arguments:
    return ast.arguments([], [ast.arg(name)], None, [], [], None, [])
