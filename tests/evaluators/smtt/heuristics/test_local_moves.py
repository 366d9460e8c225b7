"""Local search: never worse than its start, and a true local optimum."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.smtt.heuristics import local_search
from evaluators.smtt.heuristics.local_moves import local_search_order
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness
from tests.evaluators.smtt.heuristics.helpers import (
    improving_neighbour,
    instances,
    plain_tardiness,
    raw_sequences,
)


def test_fixes_an_obviously_bad_order() -> None:
    inst = SmttInstance((5, 1), (100, 1))
    assert local_search(inst, [0, 1]) == [1, 0]
    assert local_search(inst, [1, 0]) == [1, 0]


def test_finds_an_improving_insertion_no_swap_sees() -> None:
    # Job 0 (long, loose) first delays three urgent short jobs; moving it to the
    # end is one insertion.
    inst = SmttInstance((10, 1, 1, 1), (40, 1, 2, 3))
    assert local_search(inst, [0, 1, 2, 3]) == [1, 2, 3, 0]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(instances(max_n=9), st.randoms(use_true_random=False))
def test_never_worse_and_locally_optimal(inst: SmttInstance, rnd: random.Random) -> None:
    start = list(range(inst.size))
    rnd.shuffle(start)
    result = local_search(inst, start)
    assert sorted(result) == list(range(inst.size))
    assert total_tardiness(inst, result) <= total_tardiness(inst, start)
    w = None if inst.weights is None else list(inst.weights)
    assert improving_neighbour(list(inst.processing_times), list(inst.due_dates),
                               result, w) is None
    assert local_search(inst, result) == result  # a fixed point


@settings(max_examples=100, deadline=None)
@given(raw_sequences(), st.randoms(use_true_random=False))
def test_exact_with_non_positive_times(
    pd: tuple[list[int], list[int]], rnd: random.Random
) -> None:
    p, d = pd
    start = list(range(len(p)))
    rnd.shuffle(start)
    result = local_search_order(start, p, d)
    assert plain_tardiness(p, d, result) <= plain_tardiness(p, d, start)
    assert improving_neighbour(p, d, result) is None
