"""Permutation flow shop (Fm|prmu|Cmax) for discover, built only on its public problem API.

Installed, it registers itself in the ``discover.problems`` entry-point group,
so ``discover run --problem flowshop`` finds it.
"""

from __future__ import annotations

from flowshop.problem import FlowshopProblem

__all__ = ["FlowshopProblem"]
