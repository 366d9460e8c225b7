"""Numeric mutations: perturb, insert, adapt, round and fold the literals of a site.

Like every mutation (see :mod:`.mutations`, which re-exports these), each takes a
:class:`~discover.offline.context.MutationContext`, edits the site in place and
returns a short description, or ``None`` when it does not apply.
"""

from __future__ import annotations

import ast
import copy
import math

from discover.offline.context import MutationContext, excerpt, is_leafish
from discover.offline.rewrite import fold, is_number, number, value_of


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def perturb_constant(ctx: MutationContext) -> str | None:
    """Multiply a literal by a log-normal factor (scale drawn per call), or re-draw a zero."""
    slots = [s for s in ctx.site.slots() if is_number(s.get())]
    if not slots:
        return None
    slot = ctx.pick(slots)
    old = value_of(slot.get())
    if old == 0:
        new = float(ctx.pick((-1, 1))) * ctx.log_uniform(0.01, 1.0)
    else:
        sigma = ctx.pick((0.03, 0.1, 0.3, 0.8))
        new = old * math.exp(sigma * ctx.rng.standard_normal())
    node = number(abs(new))
    if node.value == abs(old) and (new >= 0) == (old >= 0):
        return None
    slot.set(node if new >= 0 else ast.UnaryOp(ast.USub(), node))
    return f"constant {old:g} -> {value_of(slot.get()):g}"


def adapt_coefficient(ctx: MutationContext) -> str | None:
    """Let a literal depend on the instance: ``c`` → ``c*(1 ± k*F)``, ``F`` a descriptor.

    A weight that suits instances with many late jobs may not suit those with few
    (see docs/offline-engine.md, *Instance descriptors*); ``F`` is one of the
    vocabulary's instance-level features (one value per instance, degree 0), and
    the tuner then varies ``c`` and ``k`` together.
    """
    descriptors = ctx.instance_features
    slots = [s for s in ctx.site.slots() if is_number(s.get()) and value_of(s.get()) != 0]
    if not descriptors or not slots:
        return None
    slot = ctx.pick(slots)
    descriptor = ctx.pick(descriptors)
    k = number(ctx.log_uniform(0.1, 3.0))
    op: ast.operator = ctx.pick((ast.Add(), ast.Sub()))
    before = excerpt(slot.get())
    factor = ast.BinOp(ast.Constant(1), op, ast.BinOp(k, ast.Mult(), descriptor.tree()))
    slot.set(ast.BinOp(slot.get(), ast.Mult(), factor))
    return f"{before} -> {before}*(1 {'+' if isinstance(op, ast.Add) else '-'} " \
        f"{value_of(k):g}*({descriptor.source}))"


def insert_coefficient(ctx: MutationContext) -> str | None:
    """Scale an item-dependent leaf by a literal near one: ``x`` → ``c*x``.

    This is what tuning does when a program has no literal yet. Leaves that are
    the same for every item are not scaled (see :meth:`MutationContext.term`).
    """
    slots = [s for s in ctx.site.slots() if is_leafish(s) and not is_number(s.get())
             and _mentions(s.get(), ctx.site.item) and ctx.degree(s.get()) == 0]
    if not slots:
        return None
    slot = ctx.pick(slots)
    c = number(math.exp(0.1 * ctx.rng.standard_normal()))
    if c.value == 1:
        return None
    before = excerpt(slot.get())
    slot.set(ast.BinOp(c, ast.Mult(), slot.get()))
    return f"scale {before} by {value_of(c):g}"


def fold_constants(ctx: MutationContext) -> str | None:
    """Algebraic clean-up of a whole component (``x*1``, literal arithmetic, ``max(x, x)``)."""
    for slot in ctx.site.components():
        before = ast.dump(slot.get())
        folded = fold(copy.deepcopy(slot.get()))
        if ast.dump(folded) != before:
            slot.set(folded)
            return f"fold {excerpt(folded)}"
    return None


def snap_constant(ctx: MutationContext) -> str | None:
    """Round a literal to one significant digit (a simpler number)."""
    slots = [s for s in ctx.site.slots() if is_number(s.get()) and value_of(s.get()) != 0]
    if not slots:
        return None
    slot = ctx.pick(slots)
    old = value_of(slot.get())
    magnitude = 10 ** math.floor(math.log10(abs(old)))
    new = round(old / magnitude) * magnitude
    if new == old:
        return None
    slot.set(number(abs(new)) if new >= 0 else ast.UnaryOp(ast.USub(), number(-new)))
    return f"constant {old:g} -> {new:g}"

