"""Exact SMTT methods behind one dispatcher.

Methods
-------
``dp``
    Held–Karp subset DP (:mod:`.dp`), n ≤ 22, always optimal.
``mip``
    Positional-assignment MIP, SCIP backend (:mod:`.mip`); time limit and dual bound.
``cpsat``
    CP-SAT interval / no-overlap model (:mod:`.cpsat`); time limit and bound.

Each method module defines ``solve(instance, time_limit=None, **options) ->
Reference``; the table below maps a method name to that function. Modules are
imported on first use, so loading this package does not import OR-Tools.
Adding a method is one :class:`ExactMethod` entry in ``_METHODS``.

Every result that carries a solution is re-costed here with
:func:`~evaluators.smtt.objective.total_tardiness`: a method whose order does
not cost its reported objective raises instead of returning.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from evaluators.base import Reference
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness, validate_order

Solver = Callable[[SmttInstance, float | None], Reference]


@dataclass(frozen=True)
class ExactMethod:
    """One registered exact method.

    Parameters
    ----------
    name
        Name used on the command line and in :attr:`Reference.method`.
    module
        Importable module defining the solver function.
    description
        One line for ``--help`` texts.
    function
        Name of ``solve(instance, time_limit) -> Reference`` in ``module``.
    """

    name: str
    module: str
    description: str
    function: str = "solve"

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").isalnum():
            raise ValueError(f"bad method name {self.name!r}")

    def load(self) -> Solver:
        """Import the module and return its solver function."""
        solver: Solver = getattr(importlib.import_module(self.module), self.function)
        return solver


_METHODS: dict[str, ExactMethod] = {
    m.name: m
    for m in (
        ExactMethod("dp", "evaluators.smtt.exact.dp", "Held–Karp subset DP (n ≤ 22)"),
        ExactMethod("mip", "evaluators.smtt.exact.mip",
                    "positional-assignment MIP (SCIP), time limit + dual bound"),
        ExactMethod("cpsat", "evaluators.smtt.exact.cpsat",
                    "CP-SAT interval/no-overlap model, time limit + bound"),
        ExactMethod("exact", "evaluators.smtt.exact.bnb",
                    "Lawler decomposition + memo (1||ΣTj, n ≤ 500+), time limit + bound",
                    function="solve_bnb"),
    )
}

REFERENCE_METHODS: tuple[str, ...] = tuple(_METHODS)
"""Names accepted by :func:`solve`, in registration order."""


class UnknownMethodError(ValueError, KeyError):
    """No exact method of that name (a ``ValueError`` and a ``KeyError``)."""

    def __str__(self) -> str:
        # KeyError would quote the message; keep it readable in CLI errors.
        return str(self.args[0]) if self.args else ""


def method_info(method: str) -> ExactMethod:
    """The registry entry of ``method``.

    Raises
    ------
    UnknownMethodError
        If ``method`` is not registered; the message lists the known names.
    """
    try:
        return _METHODS[method]
    except KeyError:
        known = ", ".join(REFERENCE_METHODS)
        raise UnknownMethodError(
            f"unknown exact method {method!r} for smtt; known: {known}"
        ) from None


def solve(instance: SmttInstance, method: str, time_limit: float | None = None) -> Reference:
    """Solve ``instance`` exactly with ``method``.

    Parameters
    ----------
    instance
        The instance.
    method
        One of :data:`REFERENCE_METHODS`.
    time_limit
        Seconds for methods that honour one (``mip``, ``cpsat``); the DP ignores it.

    Returns
    -------
    Reference
        The method's result; its ``solution``, when present, has been checked to
        be a permutation costing exactly ``objective``.

    Raises
    ------
    UnknownMethodError
        For an unregistered method.
    """
    result = method_info(method).load()(instance, time_limit)
    _check(instance, result)
    return result


def _check(instance: SmttInstance, result: Reference) -> None:
    if result.solution is None:
        return
    order = validate_order(instance.size, list(result.solution))
    if not isinstance(order, list):
        raise AssertionError(f"{result.method} returned an invalid order: {order}")
    cost = total_tardiness(instance, order)
    if cost != result.objective:
        raise AssertionError(
            f"{result.method}: order costs {cost} but the reported objective is "
            f"{result.objective} ({instance.name or 'unnamed instance'})"
        )
    if result.lower_bound > result.objective:
        raise AssertionError(
            f"{result.method}: lower bound {result.lower_bound} above objective "
            f"{result.objective}"
        )
