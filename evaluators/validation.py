"""Trusted validation helpers a problem may use (public API for plugin problems).

:func:`validate_permutation` is the strict job-order check the built-in
problems use: a permutation of ``0..n-1`` made of exact integers (no floats
that round to indices, no hostile ``int`` subclasses), with a typed reason
(:class:`evaluators.base.Failure`) for every rejection.
"""

from __future__ import annotations

from evaluators.base import Failure
from evaluators.smtt.objective import validate_order


def validate_permutation(n: int, raw: object) -> list[int] | Failure:
    """``raw`` as a list of ints if it is a permutation of ``range(n)``, else why not."""
    return validate_order(n, raw)


__all__ = ["validate_permutation"]
