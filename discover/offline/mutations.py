"""Generic expression mutations on one site of a candidate.

Every mutation takes a :class:`MutationContext` (the site, the features that can
be bound there, the random generator), edits the site's tree in place and
returns a short description, or ``None`` when it does not apply (the engine then
tries another). None of them knows anything about a particular problem: they
rewrite arithmetic, ``min``/``max``/``abs`` calls, numeric literals and the
lexicographic key tuple, and draw new material only from the vocabulary.

The context lives in :mod:`.context` and the mutations of numeric literals in
:mod:`.numbers`; both are re-exported here, so the engine reaches every mutation
as ``mutations.<name>``.
"""

from __future__ import annotations

import ast

from discover.offline.context import Mutation, MutationContext, excerpt, is_leafish
from discover.offline.numbers import (
    adapt_coefficient,
    fold_constants,
    insert_coefficient,
    perturb_constant,
    snap_constant,
)
from discover.offline.rewrite import call, is_number, is_protected, number, protect, value_of
from discover.offline.sites import Slot

__all__ = [
    "Mutation",
    "MutationContext",
    "adapt_coefficient",
    "delete_term",
    "drop_key_component",
    "edit_key_tuple",
    "fold_constants",
    "insert_coefficient",
    "insert_term",
    "perturb_constant",
    "random_subtree",
    "snap_constant",
    "substitute_feature",
    "swap_function",
    "swap_operator",
    "wrap",
]

_BINOPS: tuple[type[ast.operator], ...] = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


# -- operators and functions ---------------------------------------------------------------
def swap_operator(ctx: MutationContext) -> str | None:
    """Replace an arithmetic operator by another of ``+ - * /`` (division protected)."""
    slots = [s for s in ctx.site.slots() if isinstance(s.get(), ast.BinOp)
             and type(s.get().op) in _BINOPS]  # type: ignore[attr-defined]
    if not slots:
        return None
    node = ctx.pick(slots).get()
    assert isinstance(node, ast.BinOp)
    old = type(node.op)
    new = ctx.pick([op for op in _BINOPS if op is not old])
    node.op = new()
    if new is ast.Div:
        node.right = protect(node.right)
    return f"operator {_SYMBOL[old]} -> {_SYMBOL[new]} in {excerpt(node)}"


def swap_function(ctx: MutationContext) -> str | None:
    """``min`` ↔ ``max``, or wrap/unwrap ``abs``."""
    calls = [s for s in ctx.site.slots() if isinstance(s.get(), ast.Call)
             and isinstance(s.get().func, ast.Name)  # type: ignore[attr-defined]
             and s.get().func.id in ("min", "max")  # type: ignore[attr-defined]
             and not is_protected(s.get())]
    if calls and ctx.rng.random() < 0.7:
        node = ctx.pick(calls).get()
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        old = node.func.id
        node.func.id = "max" if old == "min" else "min"
        return f"{old} -> {node.func.id} in {excerpt(node)}"
    slots = [s for s in ctx.site.slots() if not is_number(s.get())]
    if not slots:
        return None
    slot = ctx.pick(slots)
    node = slot.get()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs":
        slot.set(node.args[0])
        return f"drop abs around {excerpt(node.args[0])}"
    slot.set(call("abs", node))
    return f"abs around {excerpt(node)}"


# -- features and terms --------------------------------------------------------------------
def substitute_feature(ctx: MutationContext) -> str | None:
    """Replace a leaf (or, less often, a subtree) by a vocabulary feature."""
    if not ctx.features:
        return None
    slots = ctx.site.slots()
    leaves = [s for s in slots if is_leafish(s)]
    slot = ctx.pick(leaves if leaves and ctx.rng.random() < 0.7 else slots)
    old = slot.get()
    # Strongly typed by size degree: a size-independent leaf stays size-independent.
    old_degree = ctx.degree(old)
    options = [f for f in ctx.features
               if old_degree is None or ctx.feature_degree(f) == old_degree]
    if not options:
        return None
    feature = ctx.pick(options)
    new = feature.tree()
    if ast.dump(new) == ast.dump(old):
        return None
    slot.set(new)
    return f"{excerpt(old)} -> {feature.source}"


def _combine(ctx: MutationContext, x: ast.expr, x_degree: int | None = None,
             known: bool = False) -> tuple[ast.expr, str] | None:
    """One of the generic ways to add a term ``y`` to an expression ``x``.

    ``x_degree`` is used when ``known`` (for unbound feature trees), else the
    degree of ``x`` is computed from the site.
    """
    form = int(ctx.rng.integers(6))
    # The new literal multiplies y in x ± c·y and x·y, and x·y in x·(1 ± c·y).
    if not known:
        x_degree = ctx.degree(x)
    if form in (2, 3):
        bound: int | None = None
    elif form == 1:
        bound = None if x_degree is None else -x_degree
        if x_degree is None:
            return None
    else:
        bound = 0
    term = ctx.term(bound)
    if term is None:
        return None
    y, y_src = term
    sign = ctx.pick((1.0, -1.0))
    if form == 0:
        c = number(ctx.log_uniform(0.001, 3.0))
        op: ast.operator = ast.Add() if sign > 0 else ast.Sub()
        return ast.BinOp(x, op, ast.BinOp(c, ast.Mult(), y)), f"{'+' if sign > 0 else '-'} " \
            f"{value_of(c):g}*{y_src}"
    if form == 1:
        c = number(ctx.log_uniform(0.0001, 1.0))
        op = ast.Add() if sign > 0 else ast.Sub()
        factor = ast.BinOp(ast.Constant(1), op, ast.BinOp(c, ast.Mult(), y))
        return ast.BinOp(x, ast.Mult(), factor), \
            f"* (1 {'+' if sign > 0 else '-'} {value_of(c):g}*{y_src})"
    if form == 2:
        return call("max", x, y), f"max with {y_src}"
    if form == 3:
        return call("min", x, y), f"min with {y_src}"
    if form == 4:
        c = number(ctx.log_uniform(0.01, 100.0))
        op = ast.Add() if sign > 0 else ast.Sub()
        return ast.BinOp(x, op, ast.BinOp(c, ast.Mult(), y)), f"{'+' if sign > 0 else '-'} " \
            f"{value_of(c):g}*{y_src}"
    return ast.BinOp(x, ast.Mult(), y), f"* {y_src}"


def insert_term(ctx: MutationContext) -> str | None:
    """Combine a random sub-expression with a new term (sum, factor, min/max, product)."""
    if not ctx.item_features:
        return None
    slots = [s for s in ctx.site.slots() if not is_number(s.get())]
    if not slots:
        return None
    slot = ctx.pick(slots)
    before = excerpt(slot.get())
    combined = _combine(ctx, slot.get())
    if combined is None:
        return None
    slot.set(combined[0])
    return f"{before} {combined[1]}"


def wrap(ctx: MutationContext) -> str | None:
    """Combine a whole key component with a new term, e.g. ``x*(1 + c*y)`` or ``x + c*y``."""
    if not ctx.item_features:
        return None
    slot = ctx.pick(ctx.site.components())
    combined = _combine(ctx, slot.get())
    if combined is None:
        return None
    slot.set(combined[0])
    return f"key component {combined[1]}"


def delete_term(ctx: MutationContext) -> str | None:
    """Replace an operation by one of its operands (``a + b`` → ``a``, ``max(a, b)`` → ``b``)."""
    options: list[tuple[Slot, ast.expr]] = []
    for s in ctx.site.slots():
        node = s.get()
        if isinstance(node, ast.BinOp):
            options += [(s, node.left), (s, node.right)]
        elif isinstance(node, ast.Call) and not is_protected(node):
            options += [(s, a) for a in node.args if isinstance(a, ast.expr)
                        and not isinstance(a, ast.Starred)]
        elif isinstance(node, ast.UnaryOp) and not is_number(node):
            options.append((s, node.operand))
        elif is_protected(node):
            assert isinstance(node, ast.Call)
            options.append((s, node.args[0]))
    if not options:
        return None
    slot, keep = ctx.pick(options)
    before = excerpt(slot.get())
    slot.set(keep)
    return f"{before} -> {excerpt(keep)}"


def random_subtree(ctx: MutationContext) -> str | None:
    """Replace a sub-expression by a fresh random expression over the vocabulary."""
    if not ctx.item_features:
        return None
    slot = ctx.pick(ctx.site.slots())
    before = excerpt(slot.get())
    feature = ctx.pick(ctx.item_features)
    combined = _combine(ctx, feature.tree(), ctx.feature_degree(feature), known=True)
    if combined is None:
        return None
    slot.set(combined[0])
    return f"{before} -> {excerpt(combined[0])}"


# -- the key tuple (tie-breaks) ------------------------------------------------------------
def edit_key_tuple(ctx: MutationContext) -> str | None:
    """Add, drop or reorder components of a lexicographic key (tie-break edits)."""
    root = ctx.site.root.get()
    item = ast.Name(ctx.site.item, ast.Load())
    if not isinstance(root, ast.Tuple):
        if ctx.item_features and ctx.rng.random() < 0.5:
            extra, source = ctx.feature(item_only=True)
            ctx.site.root.set(ast.Tuple([root, extra, item], ast.Load()))
            return f"tie-break by {source}"
        ctx.site.root.set(ast.Tuple([root, item], ast.Load()))
        return f"tie-break by {ctx.site.item}"
    elts = root.elts
    movable = [k for k, e in enumerate(elts)
               if not (isinstance(e, ast.Name) and e.id == ctx.site.item)]
    choice = int(ctx.rng.integers(3))
    if choice == 0 and ctx.item_features:
        extra, source = ctx.feature(item_only=True)
        last_is_item = isinstance(elts[-1], ast.Name) and elts[-1].id == ctx.site.item
        pos = int(ctx.rng.integers(len(elts) if last_is_item else len(elts) + 1))
        elts.insert(pos, extra)
        return f"key component {source} at position {pos}"
    if choice == 1 and len(movable) >= 2:
        k = ctx.pick(movable)
        dropped = elts.pop(k)
        return f"drop key component {excerpt(dropped)}"
    if len(movable) >= 2:
        a, b = (int(v) for v in ctx.rng.choice(movable, size=2, replace=False))
        elts[a], elts[b] = elts[b], elts[a]
        return f"swap key components {a} and {b}"
    return None


def drop_key_component(ctx: MutationContext) -> str | None:
    """Remove one component of a key tuple that has several."""
    root = ctx.site.root.get()
    if not isinstance(root, ast.Tuple):
        return None
    movable = [k for k, e in enumerate(root.elts)
               if not (isinstance(e, ast.Name) and e.id == ctx.site.item)]
    if len(movable) < 2:
        return None
    dropped = root.elts.pop(ctx.pick(movable))
    return f"drop key component {excerpt(dropped)}"
