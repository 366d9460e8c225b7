"""Feature vocabulary: parsing the problem's feature expressions and binding their names.

A problem lists features as Python expressions (SMTT: ``"p[j]"``,
``"max(0, d[j] - t)"``, ``"p_mean"``, …). They are written over short names that
a candidate function may not define. Rather than hard-coding what each name
means for each problem, the engine binds free names by a few generic rules,
tried in order at the site where a feature is inserted:

1. **bound** — a parameter, a local of the function, a module name or a builtin;
2. **item** — the vocabulary's item variable (the name most often used as an
   index, ``j``), or any unbound name used as an index, becomes the site's item
   (the ``key=`` lambda parameter or the loop variable);
3. **abbreviation** — a name that is a prefix or the initials of exactly one
   parameter (``p`` → ``processing_times``, ``d`` → ``due_dates``) is renamed;
4. **aggregate** — ``<base>_<agg>`` with ``agg`` in max/min/mean/avg/sum/total and
   a sequence ``base`` bound by the rules above becomes a helper assignment
   computed over the site's pool, inserted just before the deciding statement
   (``p_max = max(processing_times[i] for i in remaining)``); with the suffix
   ``_all`` (``p_total_all``) it is computed over the whole instance instead,
   once, at the top of the function: an instance descriptor such as
   ``d_mean_all / p_total_all`` costs O(n) per run, not per decision;
5. **count** — ``n_<anything>`` becomes ``len(pool)`` in a helper assignment.

A name none of these rules binds makes the feature ineligible at that site
(e.g. the current time ``t`` inside a plain ``sorted`` call). Because helpers are
recomputed over the pool at each decision, a rule stays O(n) per decision.
"""

from __future__ import annotations

import ast
import copy
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from discover.offline.rewrite import guard_divisions, is_protected
from discover.offline.sites import COMPREHENSIONS, Site, free_names

_AGGREGATE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)_(max|min|mean|avg|sum|total)(_all)?$")
_COUNT = re.compile(r"^n_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Feature:
    """One vocabulary entry: its source text, its free names and whether it varies by item."""

    source: str
    free: tuple[str, ...]
    item_dependent: bool = True
    instance_level: bool = False
    """Every free name is a whole-instance aggregate (``*_all``): one value per instance."""

    def tree(self) -> ast.expr:
        """A fresh expression tree of the feature (callers mutate it)."""
        return ast.parse(self.source, mode="eval").body


class Vocabulary:
    """The problem's feature expressions, parsed once.

    Parameters
    ----------
    entries
        Python expressions (``CandidateSpec.feature_vocabulary``).
    parameters
        The candidate function's parameters, for the abbreviation rule.

    Raises
    ------
    ValueError
        If an entry is not a Python expression.
    """

    def __init__(self, entries: Sequence[str], parameters: Sequence[str]) -> None:
        features = []
        for text in entries:
            try:
                tree = ast.parse(text, mode="eval").body
            except SyntaxError as exc:
                raise ValueError(f"feature {text!r} is not a Python expression: {exc}") from None
            features.append(Feature(text, tuple(free_names(tree))))
        self.parameters = tuple(parameters)
        self.item_name = _item_name([f.tree() for f in features])
        self.features: tuple[Feature, ...] = tuple(
            Feature(f.source, f.free, self.item_name in f.free,
                    bool(f.free) and all(is_instance_level(n) for n in f.free))
            for f in features)

    def abbreviation(self, name: str) -> str | None:
        """The single parameter ``name`` abbreviates, if any."""
        hits = [p for p in self.parameters if p != name and (
            p.startswith(name) or "".join(w[0] for w in p.split("_") if w) == name)]
        return hits[0] if len(hits) == 1 else None

    def eligible(self, site: Site) -> list[Feature]:
        """Features whose every free name can be bound at ``site``."""
        return [f for f in self.features if all(self._bindable(n, site, f.tree())
                                                 for n in f.free)]

    # -- binding ---------------------------------------------------------------------
    def _bindable(self, name: str, site: Site, expr: ast.expr) -> bool:
        return self._rule(name, site, expr) is not None

    def _rule(self, name: str, site: Site, expr: ast.expr) -> str | None:
        if name in site.bound and not self._is_helper_pattern(name):
            return "bound"
        if self._is_helper_pattern(name) and (
                site.instance_helper_assigned(name) if is_instance_level(name)
                else site.helper_assigned(name)):
            return "bound"
        if name == self.item_name or _used_as_index(expr, name):
            return "item"
        if self.abbreviation(name):
            return "abbreviation"
        if site.pool is not None and self._helper_source(name, site, probe=True) is not None:
            return "helper"
        return None

    def _is_helper_pattern(self, name: str) -> bool:
        agg = _AGGREGATE.match(name)
        return bool(_COUNT.match(name)) or (agg is not None and self._sequence(agg.group(1))
                                             is not None)

    def _sequence(self, base: str) -> str | None:
        if base in self.parameters:
            return base
        return self.abbreviation(base)

    def _helper_source(self, name: str, site: Site, probe: bool = False) -> str | None:
        assert site.pool is not None
        agg = _AGGREGATE.match(name)
        whole = agg is not None and agg.group(3) is not None
        pool = ast.unparse(site.pool)
        sized = isinstance(site.pool, (ast.Name, ast.List, ast.Tuple, ast.Attribute)) or (
            isinstance(site.pool, ast.Call) and isinstance(site.pool.func, ast.Name)
            and site.pool.func.id in ("range", "list", "sorted", "tuple"))
        if not whole and _COUNT.match(name):
            return f"{name} = len({pool})" if sized else None
        if agg is None:
            return None
        seq = self._sequence(agg.group(1))
        if seq is None:
            return None
        i = _fresh("i", site.bound | {site.item})
        # Over the whole instance (``*_all``: computed once), or the site's pool.
        items, size = (f"range(len({seq}))", f"len({seq})") if whole else (pool, f"len({pool})")
        gen = f"{seq}[{i}] for {i} in {items}"
        kind = agg.group(2)
        if kind in ("mean", "avg"):
            # Protected like every division a mutation writes (an empty pool, n = 0).
            return f"{name} = sum({gen}) / max({size}, 1)" if whole or sized else None
        fn = {"max": "max", "min": "min", "sum": "sum", "total": "sum"}[kind]
        if whole and fn != "sum":
            # An empty instance has no extremes: 0, so that the helper never raises.
            return f"{name} = {fn}(({gen}), default=0)"
        return f"{name} = {fn}({gen})"

    def preview(self, feature: Feature, site: Site) -> ast.expr | None:
        """The feature as it would read once bound at ``site``, helpers inlined.

        Items and abbreviations are renamed and helper names are replaced by the
        expression the helper would compute, so analyses (e.g. size degrees) see
        the real quantities. ``None`` if the feature cannot be bound there.
        """
        tree = feature.tree()
        inline: dict[str, ast.expr] = {}
        for name in feature.free:
            rule = self._rule(name, site, tree)
            if rule is None:
                return None
            if rule == "item":
                _rename(tree, name, site.item)
            elif rule == "abbreviation":
                target = self.abbreviation(name)
                assert target is not None
                _rename(tree, name, target)
            elif rule == "helper":
                source = self._helper_source(name, site)
                assert source is not None
                stmt = ast.parse(source).body[0]
                assert isinstance(stmt, ast.Assign)
                inline[name] = stmt.value
        return Inline(inline).visit(tree) if inline else tree

    def bind(self, site: Site) -> bool:
        """Bind every free name of the site's expression, editing the tree in place.

        Renames items and abbreviations inside the site's root and inserts helper
        assignments before the site's anchor. Returns ``False`` (leaving the tree
        partially edited; callers discard it) if some name cannot be bound.
        """
        root = site.root.get()
        for name in free_names(root):
            rule = self._rule(name, site, root)
            if rule is None:
                return False
            if rule == "item":
                _rename(root, name, site.item)
            elif rule == "abbreviation":
                target = self.abbreviation(name)
                assert target is not None
                _rename(root, name, target)
            elif rule == "helper":
                source = self._helper_source(name, site)
                assert source is not None
                stmt = ast.parse(source).body[0]
                if is_instance_level(name):
                    site.insert_instance_helper(stmt)
                else:
                    site.block.insert(site.block.index(site.anchor), stmt)
        hoist_instance_expressions(site)
        return True


class Inline(ast.NodeTransformer):
    """Replace loads of given names by (copies of) expressions."""

    def __init__(self, values: dict[str, ast.expr]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return copy.deepcopy(self.values[node.id])
        return node


_INSTANCE_BUILTINS = ("max", "min", "abs")
"""Calls an instance-level expression may make (its guards and clean-ups)."""

INSTANCE_PREFIX = "_inst"
"""Names of hoisted instance-level expressions (``_inst0 = 1 - d_mean_all / ...``)."""


def hoist_instance_expressions(site: Site, literals: bool = False) -> None:
    """Compute each instance-level part of the site's expression once, at the top.

    A sub-expression that reads only whole-instance helpers (``*_all``, or earlier
    hoisted ones) has one value per instance; left in a key it would be computed for
    every item at every decision. It becomes ``_inst<k> = ...`` right after the helpers
    it reads, and the site reads the name. While the engine edits a program, parts that
    hold a literal the tuner could vary (other than the 0 and 1 of a descriptor and its
    guards) stay in the site, where mutations see them; ``literals=True`` hoists them
    too (the emitted form, :mod:`.hoisting`).
    """
    assigned = site.top_assignments()
    names = instance_names(site)
    if not names:
        return
    existing = {ast.unparse(stmt.value): n for n, k in assigned.items()
                if n.startswith(INSTANCE_PREFIX)
                and isinstance(stmt := site.body[k], ast.Assign)}

    def instance_only(node: ast.AST) -> bool:
        return is_invariant(node, names) and reads_any(node, names) \
            and (literals or not holds_tunable_literal(node))

    def visit(slot_holder: ast.AST) -> None:
        for field_name, value in ast.iter_fields(slot_holder):
            children = value if isinstance(value, list) else [value]
            for k, child in enumerate(children):
                if not isinstance(child, ast.expr):
                    continue
                # A guarded denominator keeps its guard in place (what is guarded is
                # hoisted): a division by a bare name would be guarded again by every
                # later edit of the site.
                if not isinstance(child, (ast.Name, ast.Constant)) and not is_protected(child) \
                        and instance_only(child):
                    guard_divisions(child)  # as the engine does to every child, before comparing
                    source = ast.unparse(child)
                    name = existing.get(source)
                    if name is None:
                        taken = set(assigned) | set(site.bound)
                        name = next(f"{INSTANCE_PREFIX}{i}" for i in range(len(taken) + 1)
                                    if f"{INSTANCE_PREFIX}{i}" not in taken)
                        # After the helpers it reads and the names hoisted before it
                        # (so that _inst1 is defined after _inst0).
                        reads = [assigned[n.id] for n in ast.walk(child)
                                 if isinstance(n, ast.Name) and n.id in assigned] + \
                            [k for n, k in assigned.items() if n.startswith(INSTANCE_PREFIX)]
                        at = max(reads) + 1 if reads else 0
                        site.body.insert(at, ast.Assign([ast.Name(name, ast.Store())], child,
                                                        lineno=0))
                        assigned.clear()
                        assigned.update(site.top_assignments())
                        names.add(name)
                        existing[source] = name
                    replacement = ast.Name(name, ast.Load())
                    if isinstance(value, list):
                        value[k] = replacement
                    else:
                        setattr(slot_holder, field_name, replacement)
                else:
                    visit(child)

    holder = _Holder(site.root.get())
    visit(holder)
    site.root.set(holder.value)


def instance_names(site: Site) -> set[str]:
    """Names assigned at the top of the site's function that have one value per instance:
    whole-instance helpers (``*_all``) and hoisted ``_inst<k>``."""
    return {n for n in site.top_assignments()
            if is_instance_level(n) or n.startswith(INSTANCE_PREFIX)}


def is_invariant(node: ast.AST, names: set[str]) -> bool:
    """Whether ``node`` reads only ``names``, ``max``/``min``/``abs`` and literals (no lambda or
    comprehension): the same value at every evaluation of a key in one instance."""
    return not any(isinstance(n, (ast.Lambda, *COMPREHENSIONS)) for n in ast.walk(node)) \
        and all(n.id in names or n.id in _INSTANCE_BUILTINS
                for n in ast.walk(node) if isinstance(n, ast.Name))


def reads_any(node: ast.AST, names: set[str]) -> bool:
    """Whether ``node`` reads one of ``names``."""
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def holds_tunable_literal(node: ast.AST) -> bool:
    """Whether ``node`` holds a numeric literal other than the 0 and 1 of a descriptor and
    its guards (one the tuner could vary)."""
    return any(isinstance(n, ast.Constant) and isinstance(n.value, (int, float))
               and n.value not in (0, 1) for n in ast.walk(node))


def inline_instance_names(site: Site) -> None:
    """Replace the site's hoisted ``_inst<k>`` names by the expressions they stand for.

    A crossover donor's ``_inst0`` may mean something else in the recipient (or
    nothing): grafts carry the expression instead, which :meth:`Vocabulary.bind`
    hoists again in the recipient.
    """
    definitions = {t.id: stmt.value for stmt in site.body if isinstance(stmt, ast.Assign)
                   for t in stmt.targets
                   if isinstance(t, ast.Name) and t.id.startswith(INSTANCE_PREFIX)}
    if not definitions:
        return
    for _ in range(len(definitions)):  # a hoisted expression may read earlier ones
        root = site.root.get()
        if not any(isinstance(n, ast.Name) and n.id in definitions for n in ast.walk(root)):
            return
        site.root.set(Inline(definitions).visit(root))


class _Holder(ast.AST):
    """A parent for the site's root, so that the root itself can be replaced."""

    _fields = ("value",)

    def __init__(self, value: ast.expr) -> None:
        super().__init__()
        self.value = value


def is_instance_level(name: str) -> bool:
    """Whether ``name`` is a whole-instance helper (``<base>_<agg>_all``)."""
    agg = _AGGREGATE.match(name)
    return agg is not None and agg.group(3) is not None


def _item_name(trees: Sequence[ast.expr]) -> str | None:
    counts: Counter[str] = Counter()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name):
                counts[node.slice.id] += 1
    if not counts:
        return None
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _used_as_index(expr: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Name)
               and n.slice.id == name for n in ast.walk(expr))


def _rename(expr: ast.AST, old: str, new: str) -> None:
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new


def _fresh(stem: str, taken: frozenset[str] | set[str]) -> str:
    if stem not in taken:
        return stem
    k = 1
    while f"{stem}{k}" in taken:
        k += 1
    return f"{stem}{k}"
