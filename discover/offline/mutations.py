"""Generic expression mutations on one site of a candidate.

Every mutation takes a :class:`MutationContext` (the site, the features that can
be bound there, the random generator), edits the site's tree in place and
returns a short description, or ``None`` when it does not apply (the engine then
tries another). None of them knows anything about a particular problem: they
rewrite arithmetic, ``min``/``max``/``abs`` calls, numeric literals and the
lexicographic key tuple, and draw new material only from the vocabulary.
"""

from __future__ import annotations

import ast
import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from discover.offline.rewrite import (
    call,
    fold,
    is_number,
    is_protected,
    number,
    protect,
    value_of,
)
from discover.offline.sites import Site, Slot
from discover.offline.vocabulary import Feature

T = TypeVar("T")

_BINOPS: tuple[type[ast.operator], ...] = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass
class MutationContext:
    """What a mutation may use: the site, its bindable features and the generator.

    ``degree`` gives the size degree of an expression of the site and
    ``feature_degrees`` that of each feature once bound there (see
    :mod:`discover.offline.scale`); ``None`` means unknown.
    """

    site: Site
    features: Sequence[Feature]
    rng: np.random.Generator
    degree: Callable[[ast.AST], int | None] = lambda node: 0
    feature_degrees: Mapping[str, int | None] = field(default_factory=dict)

    def pick(self, items: Sequence[T]) -> T:
        """A uniformly random element of a non-empty sequence."""
        return items[int(self.rng.integers(len(items)))]

    def log_uniform(self, low: float, high: float) -> float:
        """A draw from the log-uniform distribution on ``[low, high]``."""
        return float(10 ** self.rng.uniform(math.log10(low), math.log10(high)))

    @property
    def item_features(self) -> list[Feature]:
        """Eligible features that vary from item to item."""
        return [f for f in self.features if f.item_dependent]

    @property
    def instance_features(self) -> list[Feature]:
        """Eligible features with one value per instance (descriptors, ``*_all``)."""
        return [f for f in self.features if f.instance_level]

    def feature_degree(self, feature: Feature) -> int | None:
        """Size degree of ``feature`` at this site (0 when not analysed)."""
        return self.feature_degrees.get(feature.source, 0)

    def feature(self, item_only: bool = False) -> tuple[ast.expr, str]:
        """A random eligible feature (tree and source), optionally item-dependent only."""
        f = self.pick(self.item_features if item_only else self.features)
        return f.tree(), f.source

    def term(self, degree: int | None = 0) -> tuple[ast.expr, str] | None:
        """An item-dependent feature, its protected ratio to another feature, or its
        product with an instance-level feature.

        New terms always vary with the item: a term that is the same for every
        item cannot change a ranking except by calibrating against the size of
        the instance. When the term will carry a new literal, ``degree`` fixes
        the size degree of the term (``None``: any) so that the literal's monomial
        is size-independent — a literal on a growing *or* shrinking quantity
        (``c·p_j/p_total``) is calibrated to the training size; ``None`` is
        returned if no such term exists here.
        """
        nums = self.item_features
        if not nums:
            return None
        instance = self.instance_features
        for _ in range(12):
            num = self.pick(nums)
            deg = self.feature_degree(num)
            if instance and self.rng.random() < 0.25:
                # An item's attribute weighted by a descriptor of the instance (one value
                # per instance): the weight of a term can then differ between instances.
                factor = self.pick(instance)
                dfac = self.feature_degree(factor)
                product = None if deg is None or dfac is None else deg + dfac
                if degree is None or product == degree:
                    return (ast.BinOp(num.tree(), ast.Mult(), factor.tree()),
                            f"{num.source}*({factor.source})")
            elif len(self.features) >= 2 and self.rng.random() < 0.5:
                den = self.pick([f for f in self.features if f.source != num.source])
                dden = self.feature_degree(den)
                ratio = None if deg is None or dden is None else deg - dden
                if degree is None or ratio == degree:
                    return (ast.BinOp(num.tree(), ast.Div(), protect(den.tree())),
                            f"{num.source}/{den.source}")
            elif degree is None or deg == degree:
                return num.tree(), num.source
        return None


Mutation = Callable[[MutationContext], str | None]


def _src(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _leafish(slot: Slot) -> bool:
    return isinstance(slot.get(), (ast.Name, ast.Subscript, ast.Constant))


# -- numbers -------------------------------------------------------------------------------
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
    before = _src(slot.get())
    factor = ast.BinOp(ast.Constant(1), op, ast.BinOp(k, ast.Mult(), descriptor.tree()))
    slot.set(ast.BinOp(slot.get(), ast.Mult(), factor))
    return f"{before} -> {before}*(1 {'+' if isinstance(op, ast.Add) else '-'} " \
        f"{value_of(k):g}*({descriptor.source}))"


def insert_coefficient(ctx: MutationContext) -> str | None:
    """Scale an item-dependent leaf by a literal near one: ``x`` → ``c*x``.

    This is what tuning does when a program has no literal yet. Leaves that are
    the same for every item are not scaled (see :meth:`MutationContext.term`).
    """
    slots = [s for s in ctx.site.slots() if _leafish(s) and not is_number(s.get())
             and _mentions(s.get(), ctx.site.item) and ctx.degree(s.get()) == 0]
    if not slots:
        return None
    slot = ctx.pick(slots)
    c = number(math.exp(0.1 * ctx.rng.standard_normal()))
    if c.value == 1:
        return None
    before = _src(slot.get())
    slot.set(ast.BinOp(c, ast.Mult(), slot.get()))
    return f"scale {before} by {value_of(c):g}"


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
    return f"operator {_SYMBOL[old]} -> {_SYMBOL[new]} in {_src(node)}"


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
        return f"{old} -> {node.func.id} in {_src(node)}"
    slots = [s for s in ctx.site.slots() if not is_number(s.get())]
    if not slots:
        return None
    slot = ctx.pick(slots)
    node = slot.get()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs":
        slot.set(node.args[0])
        return f"drop abs around {_src(node.args[0])}"
    slot.set(call("abs", node))
    return f"abs around {_src(node)}"


# -- features and terms --------------------------------------------------------------------
def substitute_feature(ctx: MutationContext) -> str | None:
    """Replace a leaf (or, less often, a subtree) by a vocabulary feature."""
    if not ctx.features:
        return None
    slots = ctx.site.slots()
    leaves = [s for s in slots if _leafish(s)]
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
    return f"{_src(old)} -> {feature.source}"


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
    before = _src(slot.get())
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
    before = _src(slot.get())
    slot.set(keep)
    return f"{before} -> {_src(keep)}"


def random_subtree(ctx: MutationContext) -> str | None:
    """Replace a sub-expression by a fresh random expression over the vocabulary."""
    if not ctx.item_features:
        return None
    slot = ctx.pick(ctx.site.slots())
    before = _src(slot.get())
    feature = ctx.pick(ctx.item_features)
    combined = _combine(ctx, feature.tree(), ctx.feature_degree(feature), known=True)
    if combined is None:
        return None
    slot.set(combined[0])
    return f"{before} -> {_src(combined[0])}"


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
        return f"drop key component {_src(dropped)}"
    if len(movable) >= 2:
        a, b = (int(v) for v in ctx.rng.choice(movable, size=2, replace=False))
        elts[a], elts[b] = elts[b], elts[a]
        return f"swap key components {a} and {b}"
    return None


# -- simplification ------------------------------------------------------------------------
def fold_constants(ctx: MutationContext) -> str | None:
    """Algebraic clean-up of a whole component (``x*1``, literal arithmetic, ``max(x, x)``)."""
    for slot in ctx.site.components():
        before = ast.dump(slot.get())
        folded = fold(copy.deepcopy(slot.get()))
        if ast.dump(folded) != before:
            slot.set(folded)
            return f"fold {_src(folded)}"
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
    return f"drop key component {_src(dropped)}"
