"""Constructive rules: hand-worked examples, tie-breaks and literal oracles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from evaluators.smtt.heuristics import HEURISTICS
from evaluators.smtt.heuristics.constructive import eddc_order, psk_order
from evaluators.smtt.heuristics.dispatch import (
    atc_order,
    covert_order,
    mdd_order,
    mddc_order,
    wmdd_order,
)
from evaluators.smtt.heuristics.sorting import edd_order, spt_order, wspt_order
from evaluators.smtt.instance import SmttInstance
from tests.evaluators.smtt.heuristics.helpers import dispatch, instances, raw_sequences


def test_spt_breaks_ties_by_due_date_then_index() -> None:
    assert spt_order([3, 1, 3, 3], [9, 0, 2, 2]) == [1, 2, 3, 0]


def test_edd_is_stable_on_ties() -> None:
    assert edd_order([1, 1, 1], [5, 3, 5]) == [1, 0, 2]


def test_wspt_orders_by_weight_over_time() -> None:
    # w/p = 0.5, 1, 0.5: job 1 first, then the tie by due date.
    assert wspt_order([2, 3, 4], [5, 5, 1], [1, 3, 2]) == [1, 2, 0]
    assert wspt_order([2, 3, 4], [5, 5, 1]) == spt_order([2, 3, 4], [5, 5, 1])


def test_wspt_compares_ratios_exactly() -> None:
    # w/p = 1/3 and 10**17/(3·10**17 − 1) differ by a relative 3e-18, below
    # float64 resolution: a float key would tie and fall back to the due date.
    assert wspt_order([3, 3 * 10**17 - 1], [0, 1], [1, 10**17]) == [1, 0]
    # An exact tie does fall back to the due date.
    assert wspt_order([3, 3 * 10**17], [1, 0], [1, 10**17]) == [1, 0]
    assert wspt_order([3, 3 * 10**17], [0, 1], [1, 10**17]) == [0, 1]


def test_mdd_ties_go_to_lowest_index() -> None:
    # t=0 keys (3, 5, 2) -> job 2; t=2 keys (5, 5) -> tie -> job 0.
    assert mdd_order([3, 1, 2], [2, 5, 1]) == [2, 0, 1]
    assert mdd_order([2, 2, 2], [0, 0, 0]) == [0, 1, 2]


def test_wmdd_without_weights_is_mdd_and_uses_weights() -> None:
    assert wmdd_order([3, 1, 2], [2, 5, 1]) == mdd_order([3, 1, 2], [2, 5, 1])
    assert wmdd_order([3, 1, 2], [2, 5, 1], [1, 1, 1]) == [2, 0, 1]
    # Equal p and d: the heavier job goes first.
    assert wmdd_order([4, 4], [0, 0], [1, 3]) == [1, 0]


def test_mddc_prefers_the_short_job_on_a_tie_of_due_dates() -> None:
    # U = [1, 0] (EDD, SPT tie-break); µ_1 ≈ 1.29 < µ_0 ≈ 18.3.
    assert mddc_order([10, 1], [0, 0]) == [1, 0]


@pytest.mark.parametrize(
    ("p", "d", "expected"),
    [
        ([1, 2, 3], [10, 4, 1], [2, 1, 0]),  # every comparison swaps
        ([1, 2, 3], [0, 4, 1], [0, 2, 1]),
        ([5, 6, 7], [4, 3, 2], [0, 1, 2]),  # all late: no swap, stays SPT
        ([1, 5, 7], [20, 3, 2], [1, 2, 0]),  # last comparison: 3 > 5 fails
    ],
)
def test_eddc_hand_worked(p: list[int], d: list[int], expected: list[int]) -> None:
    assert eddc_order(p, d) == expected


@pytest.mark.parametrize(
    ("p", "d", "expected"),
    [
        # active 0 hands over to 1 (d_1 < d_0), 1 is late anyway -> scheduled;
        # then 0 hands over to 2, which is last -> scheduled; then 0.
        ([1, 2, 3], [10, 2, 3], [1, 2, 0]),
        ([1, 5], [4, 100], [0, 1]),  # d_0 <= C + p_1: schedule the active job
        ([1, 2], [10, 20], [0, 1]),  # d_0 <= d_1 and job 1 is last
        ([4], [0], [0]),
    ],
)
def test_psk_hand_worked(p: list[int], d: list[int], expected: list[int]) -> None:
    assert psk_order(p, d) == expected


def test_atc_and_covert_use_weights_and_k() -> None:
    p, d = [5, 5], [5, 5]
    assert atc_order(p, d) == [0, 1]
    assert atc_order(p, d, [1, 4]) == [1, 0]
    assert covert_order(p, d, [1, 4]) == [1, 0]
    # A long urgent job against a short job with slack: small k favours urgency.
    p, d = [10, 2], [10, 12]
    assert atc_order(p, d, k=0.1) == [0, 1]
    assert atc_order(p, d, k=50.0) == [1, 0]
    with pytest.raises(ValueError, match="positive"):
        atc_order(p, d, k=0.0)
    with pytest.raises(ValueError, match="positive"):
        covert_order(p, d, k=-1.0)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(instances(max_n=10, weighted=False))
def test_mdd_and_mddc_match_literal_scalar_oracles(inst: SmttInstance) -> None:
    p, d = list(inst.processing_times), list(inst.due_dates)
    assert HEURISTICS["mdd"](inst) == dispatch(p, d, "mdd")
    assert HEURISTICS["mddc"](inst) == dispatch(p, d, "mddc")


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(raw_sequences())
def test_mddc_matches_oracle_with_non_positive_times(pd: tuple[list[int], list[int]]) -> None:
    p, d = pd
    try:
        expected = dispatch(p, d, "mddc")
    except ZeroDivisionError:
        return  # t + max p_U or t + mean p_U is zero: Python raises, numpy gives inf
    assert mddc_order(p, d) == expected
