"""Classic heuristics for single-machine (weighted) total tardiness.

:data:`HEURISTICS` maps a name to a function ``f(instance) -> list[int]``
returning a 0-based job order. Every entry is a thin wrapper over plain core
functions of ``(p, d[, w])`` (modules :mod:`.sorting`, :mod:`.dispatch`,
:mod:`.constructive`, :mod:`.augment`, :mod:`.local_moves`, which import
only the standard library and numpy); :func:`baseline_source` copies those
same functions into a standalone module for ``discover export``.

Names and weight handling (see :mod:`.catalog` for the exact pipelines):

========== ===================================================== ==================
name       rule                                                  weights
========== ===================================================== ==================
spt        shortest processing time (ties: d, index)             ignored
edd        earliest due date (ties: index)                       ignored
wspt       largest w/p (ties: d, index)                          used
mdd        smallest max(t + p, d) (ties: index)                  ignored
wmdd       smallest max(p, d − t)/w (ties: index)                used
psk        Panwalkar–Smith–Koulamas                              ignored
atc        apparent tardiness cost, k = 2 (:func:`atc`)          used
covert     cost over time, k = 2 (:func:`covert`)                used
eddc       the seed paper's EDDC                                 ignored
mddc       the seed paper's MDDC                                 ignored
aug_mdd    MDD + Bean & Hall augmentation                        moves use Σ w·T
aug_mddc   MDDC + Bean & Hall augmentation                       moves use Σ w·T
mdd_ls     MDD + :func:`local_search`                            search uses Σ w·T
mddc_ls    MDDC + :func:`local_search`                           search uses Σ w·T
atc_ls     ATC + :func:`local_search`                            used
========== ===================================================== ==================

EDD, EDDC, MDD, MDDC, PSK and the augmented variants follow the definitions
in ``benchmarks/README.md`` and reproduce the seed paper's tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from evaluators.smtt.heuristics.catalog import BASELINES, Baseline, get_baseline, run_baseline
from evaluators.smtt.heuristics.dispatch import atc_order, covert_order
from evaluators.smtt.heuristics.export import ExportError, baseline_source
from evaluators.smtt.heuristics.local_moves import local_search_order
from evaluators.smtt.instance import SmttInstance

__all__ = [
    "BASELINES",
    "HEURISTICS",
    "Baseline",
    "ExportError",
    "atc",
    "baseline_source",
    "covert",
    "get_baseline",
    "local_search",
]


def _wrap(baseline: Baseline) -> Callable[[SmttInstance], list[int]]:
    def heuristic(instance: SmttInstance) -> list[int]:
        return run_baseline(
            baseline, instance.processing_times, instance.due_dates, instance.weights
        )

    heuristic.__name__ = baseline.name
    heuristic.__qualname__ = baseline.name
    heuristic.__doc__ = f"{baseline.summary} Weights: {baseline.weights}."
    return heuristic


HEURISTICS: dict[str, Callable[[SmttInstance], list[int]]] = {
    name: _wrap(baseline) for name, baseline in BASELINES.items()
}


def local_search(instance: SmttInstance, order: Sequence[int]) -> list[int]:
    """Improve ``order`` by adjacent interchanges and insertions to a local optimum.

    Parameters
    ----------
    instance
        The instance; its weights (if any) define the objective.
    order
        Starting permutation of ``0..n−1``.

    Returns
    -------
    list[int]
        An order whose total (weighted) tardiness is at most that of ``order``.
    """
    return local_search_order(
        order, instance.processing_times, instance.due_dates, instance.weights
    )


def atc(instance: SmttInstance, k: float = 2.0) -> list[int]:
    """Apparent tardiness cost order with look-ahead ``k`` (uses weights)."""
    return atc_order(instance.processing_times, instance.due_dates, instance.weights, k=k)


def covert(instance: SmttInstance, k: float = 2.0) -> list[int]:
    """COVERT order with look-ahead ``k`` (uses weights)."""
    return covert_order(instance.processing_times, instance.due_dates, instance.weights, k=k)
