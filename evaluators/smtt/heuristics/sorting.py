"""Static priority rules for 1||Σ(w)T: SPT, EDD and WSPT.

Core functions take plain sequences (``p`` processing times, ``d`` due dates,
optionally ``w`` weights) and return a 0-based job order as a list of Python
ints. This module imports only the standard library and numpy, because
:func:`evaluators.smtt.heuristics.export.baseline_source` copies these
functions verbatim into standalone modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def spt_order(p: Sequence[int], d: Sequence[int]) -> list[int]:
    """Shortest processing time first.

    Ties go to the earlier due date, then to the lower job index. Weights are
    ignored (use :func:`wspt_order` for the weighted rule).

    Parameters
    ----------
    p, d
        Processing times and due dates.

    Returns
    -------
    list[int]
        The job order.
    """
    return sorted(range(len(p)), key=lambda j: (p[j], d[j], j))


def edd_order(p: Sequence[int], d: Sequence[int]) -> list[int]:
    """Earliest due date first, ties by job index (a stable sort on ``d``).

    The seed paper leaves EDD's tie-break open; ties by index give 46.48 on
    ``n20_uniform`` against the paper's 46.61. Weights are ignored.

    Parameters
    ----------
    p, d
        Processing times (unused, kept for a uniform signature) and due dates.

    Returns
    -------
    list[int]
        The job order.
    """
    return sorted(range(len(p)), key=lambda j: (d[j], j))


def wspt_order(
    p: Sequence[int], d: Sequence[int], w: Sequence[int] | None = None
) -> list[int]:
    """Weighted shortest processing time first (Smith's rule): largest ``w/p`` first.

    Ratios are compared exactly, as fractions ``p/w`` (no float rounding); ties
    go to the earlier due date, then to the lower job index. Without weights
    the order is SPT's.

    Parameters
    ----------
    p, d
        Processing times and due dates.
    w
        Weights, or ``None`` for unit weights.

    Returns
    -------
    list[int]
        The job order.
    """
    n = len(p)
    weights = [1] * n if w is None else list(w)
    # Fraction(p, w) ascending == w/p descending, compared exactly.
    return sorted(range(n), key=lambda j: (Fraction(int(p[j]), int(weights[j])), d[j], j))
