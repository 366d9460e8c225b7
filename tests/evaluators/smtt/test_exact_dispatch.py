"""The exact-method dispatcher: names, errors, lazy imports and result checking."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evaluators.base import Reference, Status
from evaluators.smtt import exact
from evaluators.smtt.exact.start import greedy_start
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness

TINY = SmttInstance((3, 2, 5), (2, 4, 1), name="tiny")


def test_registered_methods() -> None:
    assert exact.REFERENCE_METHODS[:3] == ("dp", "mip", "cpsat")
    for name in exact.REFERENCE_METHODS:
        assert exact.method_info(name).name == name


@pytest.mark.parametrize("method", ["dp", "mip", "cpsat"])
def test_each_method_solves_tiny(method: str) -> None:
    result = exact.solve(TINY, method, time_limit=10)
    assert result.method == method
    assert result.objective == 11  # by enumeration of the 6 orders
    assert result.status is Status.OPTIMAL


def test_unknown_method_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown exact method 'lp'.*dp, mip, cpsat"):
        exact.solve(TINY, "lp")
    with pytest.raises(KeyError):
        exact.solve(TINY, "lp")


def test_importing_the_package_does_not_import_ortools() -> None:
    code = "import sys, evaluators.smtt.exact; print(any('ortools' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_dispatcher_rejects_a_result_whose_order_does_not_cost_its_objective(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lying_solver(instance: SmttInstance, time_limit: float | None) -> Reference:
        order = tuple(greedy_start(instance))
        cost = total_tardiness(instance, order)
        return Reference(cost - 1, cost - 1, Status.OPTIMAL, "liar", 0.0, solution=order)

    liar = exact.ExactMethod("liar", __name__, "test double")
    monkeypatch.setitem(exact._METHODS, "liar", liar)
    monkeypatch.setattr(exact.ExactMethod, "load", lambda self: lying_solver)
    with pytest.raises(AssertionError, match="order costs"):
        exact.solve(TINY, "liar")


def test_greedy_start_is_a_permutation() -> None:
    weighted = SmttInstance((3, 2, 5, 1), (2, 4, 1, 0), (1, 4, 2, 2))
    for instance in (TINY, weighted):
        assert sorted(greedy_start(instance)) == list(range(instance.size))
