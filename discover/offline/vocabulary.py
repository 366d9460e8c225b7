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
   (``p_max = max(processing_times[i] for i in remaining)``);
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

from discover.offline.sites import Site, free_names

_AGGREGATE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)_(max|min|mean|avg|sum|total)$")
_COUNT = re.compile(r"^n_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Feature:
    """One vocabulary entry: its source text, its free names and whether it varies by item."""

    source: str
    free: tuple[str, ...]
    item_dependent: bool = True

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
            Feature(f.source, f.free, self.item_name in f.free) for f in features)

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
        if self._is_helper_pattern(name) and site.helper_assigned(name):
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
        pool = ast.unparse(site.pool)
        sized = isinstance(site.pool, (ast.Name, ast.List, ast.Tuple, ast.Attribute)) or (
            isinstance(site.pool, ast.Call) and isinstance(site.pool.func, ast.Name)
            and site.pool.func.id in ("range", "list", "sorted", "tuple"))
        if _COUNT.match(name):
            return f"{name} = len({pool})" if sized else None
        agg = _AGGREGATE.match(name)
        if agg is None:
            return None
        seq = self._sequence(agg.group(1))
        if seq is None:
            return None
        i = _fresh("i", site.bound | {site.item})
        gen = f"{seq}[{i}] for {i} in {pool}"
        kind = agg.group(2)
        if kind in ("mean", "avg"):
            # Protected like every division a mutation writes (an empty pool, n = 0).
            return f"{name} = sum({gen}) / max(len({pool}), 1)" if sized else None
        fn = {"max": "max", "min": "min", "sum": "sum", "total": "sum"}[kind]
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
        return _Inline(inline).visit(tree) if inline else tree

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
                site.block.insert(site.block.index(site.anchor), stmt)
        return True


class _Inline(ast.NodeTransformer):
    """Replace loads of given names by (copies of) expressions."""

    def __init__(self, values: dict[str, ast.expr]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return copy.deepcopy(self.values[node.id])
        return node


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
