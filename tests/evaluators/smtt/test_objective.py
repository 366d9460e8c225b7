"""Objective and validation of candidate output."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluators.base import Failure, FailureReason
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness, validate_order


@pytest.fixture
def three_jobs() -> SmttInstance:
    return SmttInstance(processing_times=(3, 2, 4), due_dates=(5, 1, 9))


def test_tardiness_by_hand(three_jobs: SmttInstance) -> None:
    # order 1,0,2: C = 2,5,9 -> T = 1,0,0
    assert total_tardiness(three_jobs, [1, 0, 2]) == 1
    # order 2,0,1: C = 4,7,9 -> T = 0 + 2 + 8
    assert total_tardiness(three_jobs, [2, 0, 1]) == 10


def test_weighted_tardiness() -> None:
    inst = SmttInstance((3, 2), (1, 1), weights=(5, 1))
    assert total_tardiness(inst, [0, 1]) == 5 * 2 + 1 * 4
    assert total_tardiness(inst, [1, 0]) == 1 * 1 + 5 * 4


@given(st.lists(st.tuples(st.integers(1, 50), st.integers(-20, 200)), min_size=1, max_size=7))
def test_tardiness_matches_definition(jobs: list[tuple[int, int]]) -> None:
    inst = SmttInstance(tuple(p for p, _ in jobs), tuple(d for _, d in jobs))
    for order in itertools.islice(itertools.permutations(range(len(jobs))), 30):
        t, expected = 0, 0
        for j in order:
            t += jobs[j][0]
            expected += max(0, t - jobs[j][1])
        assert total_tardiness(inst, order) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, FailureReason.NOT_A_SEQUENCE),
        ("012", FailureReason.NOT_A_SEQUENCE),
        ({0: 1}, FailureReason.NOT_A_SEQUENCE),
        ([0, 1], FailureReason.WRONG_LENGTH),
        ([0, 1, 2, 3], FailureReason.WRONG_LENGTH),
        ([0, 1, 1], FailureReason.DUPLICATE),
        ([0, 1, 3], FailureReason.OUT_OF_RANGE),
        ([0, 1, -1], FailureReason.OUT_OF_RANGE),
        ([0, 1, 2.0], FailureReason.NON_INTEGER),
        ([0, 1, "2"], FailureReason.NON_INTEGER),
        ([0, 1, True], FailureReason.NON_INTEGER),
        ([0, 1, math.nan], FailureReason.NOT_FINITE),
        ([0, 1, math.inf], FailureReason.NOT_FINITE),
        (np.array([0.0, 1.0, 2.0]), FailureReason.NON_INTEGER),
        (np.array([[0, 1, 2]]), FailureReason.NOT_A_SEQUENCE),
    ],
)
def test_validation_reasons(raw: object, reason: FailureReason) -> None:
    result = validate_order(3, raw)
    assert isinstance(result, Failure)
    assert result.reason is reason


def test_evil_float_subclass_rejected() -> None:
    class Evil(float):
        def __lt__(self, other: object) -> bool:
            return True

        __eq__ = __lt__  # type: ignore[assignment]

    result = validate_order(2, [Evil(0), 1])
    assert isinstance(result, Failure) and result.reason is FailureReason.NON_INTEGER


@pytest.mark.parametrize("raw", [[2, 0, 1], (2, 0, 1), np.array([2, 0, 1]),
                                 [np.int32(2), 0, 1]])
def test_valid_orders_accepted(raw: object) -> None:
    assert validate_order(3, raw) == [2, 0, 1]
    assert all(type(v) is int for v in validate_order(3, raw))  # type: ignore[union-attr]


def _tardiness_by_definition(inst: SmttInstance, order: list[int]) -> int:
    t, total = 0, 0
    weights = inst.weights or (1,) * len(order)
    for j in order:
        t += inst.processing_times[j]
        total += weights[j] * max(0, t - inst.due_dates[j])
    return total


@given(st.integers(1, 150).flatmap(lambda n: st.tuples(
    st.lists(st.integers(1, 10**6), min_size=n, max_size=n),
    st.lists(st.integers(-100, 10**7), min_size=n, max_size=n),
    st.one_of(st.none(), st.lists(st.integers(1, 100), min_size=n, max_size=n)),
    st.permutations(list(range(n))))))
@pytest.mark.slow
def test_both_tardiness_paths_match_the_definition(
        case: tuple[list[int], list[int], list[int] | None, list[int]]) -> None:
    # Instances up to SMALL_N jobs take the plain loop, larger ones numpy.
    p, d, w, order = case
    inst = SmttInstance(tuple(p), tuple(d), None if w is None else tuple(w))
    assert total_tardiness(inst, order) == _tardiness_by_definition(inst, order)
    assert total_tardiness(inst, np.array(order)) == _tardiness_by_definition(inst, order)


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.one_of(st.integers(-2, n + 1), st.booleans(), st.floats()),
                         min_size=0, max_size=n + 1))))
def test_validation_accepts_exactly_the_permutations(case: tuple[int, list[object]]) -> None:
    n, raw = case
    is_permutation = (all(type(v) is int for v in raw) and sorted(raw) == list(range(n)))  # type: ignore[type-var]
    result = validate_order(n, raw)
    assert (result == raw) if is_permutation else isinstance(result, Failure)
