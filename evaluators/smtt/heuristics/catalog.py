"""The catalogue of classic SMTT baselines: one pipeline description per name.

A :class:`Baseline` names a constructive core function, its fixed keyword
parameters and the improvers applied after it. The same description drives
both the in-package heuristic (:func:`run_baseline`) and the exported
standalone module (:mod:`evaluators.smtt.heuristics.export`), so there is one
implementation of each heuristic, not two.

How each baseline treats job weights is recorded in :attr:`Baseline.weights`;
exported modules implement the unweighted contract
``schedule(processing_times, due_dates)`` and therefore run with unit weights.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evaluators.smtt.heuristics.augment import augment_order
from evaluators.smtt.heuristics.constructive import eddc_order, psk_order
from evaluators.smtt.heuristics.dispatch import (
    atc_order,
    covert_order,
    mdd_order,
    mddc_order,
    wmdd_order,
)
from evaluators.smtt.heuristics.local_moves import local_search_order
from evaluators.smtt.heuristics.sorting import edd_order, spt_order, wspt_order

CoreRule = Callable[..., list[int]]
Improver = Callable[..., list[int]]

IGNORES_WEIGHTS = "ignores weights"
USES_WEIGHTS = "uses weights"
WEIGHTED_IMPROVEMENT = "rule ignores weights; the improvement minimises Σ w·T"


@dataclass(frozen=True)
class Baseline:
    """A classic heuristic as a pipeline: a core rule, then improvers.

    Parameters
    ----------
    name
        Key in :data:`evaluators.smtt.heuristics.HEURISTICS` (an identifier).
    summary
        One line for reports and the exported module's docstring.
    rule
        Core constructive function ``rule(p, d[, w], **params) -> list[int]``.
    params
        Fixed keyword arguments of ``rule`` (e.g. ``(("k", 2.0),)`` for ATC).
    improvers
        Functions ``f(order, p, d, w=None) -> list[int]`` applied in turn.
    weights
        How the baseline treats job weights on weighted instances.
    reference
        Literature source, for the exported docstring.
    """

    name: str
    summary: str
    rule: CoreRule
    params: tuple[tuple[str, float], ...] = ()
    improvers: tuple[Improver, ...] = ()
    weights: str = IGNORES_WEIGHTS
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"baseline name {self.name!r} is not an identifier")
        names = list(inspect.signature(self.rule).parameters)
        if names[:2] != ["p", "d"]:
            raise ValueError(f"{self.rule.__name__} must take (p, d, ...), got {names}")
        for key, _ in self.params:
            if key not in names:
                raise ValueError(f"{self.rule.__name__} has no parameter {key!r}")
        for improver in self.improvers:
            if list(inspect.signature(improver).parameters) != ["order", "p", "d", "w"]:
                raise ValueError(f"improver {improver.__name__} must take (order, p, d, w)")

    @property
    def rule_takes_weights(self) -> bool:
        """Whether :attr:`rule` accepts a ``w`` argument."""
        return "w" in inspect.signature(self.rule).parameters


def run_baseline(
    baseline: Baseline,
    p: Sequence[int],
    d: Sequence[int],
    w: Sequence[int] | None = None,
) -> list[int]:
    """Run ``baseline`` on plain sequences; ``w=None`` means unit weights."""
    kwargs: dict[str, object] = dict(baseline.params)
    if w is not None and baseline.rule_takes_weights:
        kwargs["w"] = w
    order = baseline.rule(p, d, **kwargs)
    for improver in baseline.improvers:
        order = improver(order, p, d, w)
    return order


_PAPER = "Çetinkaya et al. 2025, arXiv 2510.24013 (as in benchmarks/README.md)"
_BH = "Bean & Hall 1985 augmentation"
_LS = "adjacent interchange + insertion local search"

CATALOG: tuple[Baseline, ...] = (
    Baseline("spt", "Shortest processing time first (ties: due date, index).", spt_order,
             reference="Smith 1956"),
    Baseline("edd", "Earliest due date first (ties: job index).", edd_order,
             reference="Jackson 1955"),
    Baseline("wspt", "Largest w/p first (Smith's rule); SPT without weights.", wspt_order,
             weights=USES_WEIGHTS, reference="Smith 1956"),
    Baseline("mdd", "Modified due date: smallest max(t + p, d) next (ties: index).",
             mdd_order, reference="Baker & Bertrand 1982"),
    Baseline("wmdd", "Weighted modified due date: smallest max(p, d − t)/w next.",
             wmdd_order, weights=USES_WEIGHTS, reference="Kanet & Li 2004"),
    Baseline("psk", "PSK: SPT list with due-date look-ahead.", psk_order,
             reference="Panwalkar, Smith & Koulamas 1993"),
    Baseline("atc", "Apparent tardiness cost, k = 2.", atc_order, (("k", 2.0),),
             weights=USES_WEIGHTS, reference="Vepsalainen & Morton 1987"),
    Baseline("covert", "COVERT (cost over time), k = 2.", covert_order, (("k", 2.0),),
             weights=USES_WEIGHTS, reference="Carroll 1965; Morton & Pentico 1993"),
    Baseline("eddc", "EDDC: SPT start, due-date insertion of early jobs.", eddc_order,
             reference=_PAPER),
    Baseline("mddc", "MDDC: MDD with processing-time corrections.", mddc_order,
             reference=_PAPER),
    Baseline("aug_mdd", "MDD with Bean & Hall move-to-end augmentation.", mdd_order,
             improvers=(augment_order,), weights=WEIGHTED_IMPROVEMENT,
             reference=f"Baker & Bertrand 1982; {_BH}"),
    Baseline("aug_mddc", "MDDC with Bean & Hall move-to-end augmentation.", mddc_order,
             improvers=(augment_order,), weights=WEIGHTED_IMPROVEMENT,
             reference=f"{_PAPER}; {_BH}"),
    Baseline("mdd_ls", "MDD followed by local search to a local optimum.", mdd_order,
             improvers=(local_search_order,), weights=WEIGHTED_IMPROVEMENT,
             reference=f"Baker & Bertrand 1982; {_LS}"),
    Baseline("mddc_ls", "MDDC followed by local search to a local optimum.", mddc_order,
             improvers=(local_search_order,), weights=WEIGHTED_IMPROVEMENT,
             reference=f"{_PAPER}; {_LS}"),
    Baseline("atc_ls", "ATC (k = 2) followed by local search to a local optimum.", atc_order,
             (("k", 2.0),), improvers=(local_search_order,), weights=USES_WEIGHTS,
             reference=f"Vepsalainen & Morton 1987; {_LS}"),
)

BASELINES: dict[str, Baseline] = {b.name: b for b in CATALOG}


def get_baseline(name: str) -> Baseline:
    """The baseline called ``name``.

    Raises
    ------
    KeyError
        Naming the known baselines, when ``name`` is unknown.
    """
    try:
        return BASELINES[name]
    except KeyError:
        raise KeyError(
            f"unknown SMTT baseline {name!r} (known: {', '.join(BASELINES)})"
        ) from None
