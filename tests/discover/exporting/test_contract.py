"""The SMTT export contract: its standalone objective agrees with discover's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.exporting.contract import CALL_NAME, OBJECTIVE_NAME, ExportContract, contract_for
from evaluators.registry import get_problem
from evaluators.smtt.instance import SmttInstance


def _namespace(contract: ExportContract) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(contract.call_source + "\n" + contract.objective_source, namespace)
    return namespace


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 15).flatmap(lambda n: st.tuples(
    st.lists(st.integers(1, 100), min_size=n, max_size=n),
    st.lists(st.integers(-50, 800), min_size=n, max_size=n),
    st.permutations(list(range(n))))))
def test_standalone_objective_equals_total_tardiness(
        case: tuple[list[int], list[int], list[int]]) -> None:
    p, d, order = case
    problem = get_problem("smtt")
    instance = SmttInstance(tuple(p), tuple(d))
    objective = _namespace(contract_for("smtt"))[OBJECTIVE_NAME]
    assert objective(problem.payload(instance), order) == problem.objective(instance, order)
    assert objective(problem.payload(instance), np.asarray(order)) == problem.objective(
        instance, order)


@pytest.mark.parametrize("bad", [[0, 0, 1], [0, 1], [0.0, 1.0, 2.0], [0, 1, 3], "012"])
def test_standalone_objective_rejects_non_orders(bad: object) -> None:
    objective = _namespace(contract_for("smtt"))[OBJECTIVE_NAME]
    with pytest.raises(ValueError):
        objective({"processing_times": [1, 2, 3], "due_dates": [1, 2, 3]}, bad)


def test_call_adapter_passes_copies() -> None:
    call = _namespace(contract_for("smtt"))[CALL_NAME]
    payload = {"processing_times": [3, 1], "due_dates": [2, 2]}

    def mutating(p: list[int], d: list[int]) -> list[int]:
        p.clear()
        return [1, 0]

    assert call(mutating, payload) == [1, 0]
    assert payload["processing_times"] == [3, 1]


def test_samples_are_small_and_tardy() -> None:
    problem = get_problem("smtt")
    samples = contract_for("smtt").samples(problem)
    assert len(samples) == 3 and all(s.size == 12 for s in samples)
    edd = problem.heuristics["edd"]
    assert all(problem.objective(s, edd(s)) > 0 for s in samples)


def test_contract_validation_and_lookup() -> None:
    with pytest.raises(ValueError, match="_discover_call"):
        ExportContract("x", "t", "o", "def f(): pass", "def _discover_objective(p, o): 0",
                       lambda problem: [])
    with pytest.raises(KeyError, match=r"unknown problem .nosuch."):
        contract_for("nosuch")
