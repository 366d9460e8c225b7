"""The mutation context: what a mutation of one site may use, and helpers on sites.

A :class:`MutationContext` carries the site being edited, the features that can be
bound there, their size degrees and the random generator; every mutation
(:mod:`.mutations`, :mod:`.numbers`) is a :data:`Mutation` of it.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from discover.offline.rewrite import protect
from discover.offline.sites import Site, Slot
from discover.offline.vocabulary import Feature

T = TypeVar("T")


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


def excerpt(node: ast.AST) -> str:
    """The source of ``node``, cut to 60 characters (for a mutation's description)."""
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def is_leafish(slot: Slot) -> bool:
    """Whether the slot holds a leaf: a name, a subscript or a literal."""
    return isinstance(slot.get(), (ast.Name, ast.Subscript, ast.Constant))
