"""Bean & Hall augmentation against a literal move-to-end oracle."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.smtt.heuristics import HEURISTICS
from evaluators.smtt.heuristics.augment import augment_order
from evaluators.smtt.instance import SmttInstance
from tests.evaluators.smtt.heuristics.helpers import (
    bean_hall_move,
    dispatch,
    instances,
    raw_sequences,
)


def _literal(order: list[int], p: list[int], d: list[int], w: list[int] | None) -> list[int]:
    seq: list[int] = []
    for job in order:
        seq = bean_hall_move(p, d, [*seq, job], w)
    return seq


def test_moves_a_blocking_job_to_the_end() -> None:
    # [0, 1]: job 1 is 5 late behind job 0, which has slack to spare at the end.
    assert augment_order([0, 1], [5, 1], [100, 1]) == [1, 0]
    assert augment_order([1, 0], [5, 1], [100, 1]) == [1, 0]


def test_ties_keep_the_earliest_move() -> None:
    # Moving job 0 or job 1 to the end both save the same; job 0 is moved.
    p, d = [2, 2, 4], [100, 100, 4]
    assert augment_order([0, 1, 2], p, d) == _literal([0, 1, 2], p, d, None) == [1, 2, 0]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(instances(max_n=10), st.randoms(use_true_random=False))
def test_matches_literal_oracle_on_any_order(inst: SmttInstance, rnd: random.Random) -> None:
    p, d = list(inst.processing_times), list(inst.due_dates)
    w = None if inst.weights is None else list(inst.weights)
    order = list(range(inst.size))
    rnd.shuffle(order)
    assert augment_order(order, p, d, w) == _literal(order, p, d, w)


@settings(max_examples=200, deadline=None)
@given(raw_sequences(), st.randoms(use_true_random=False))
def test_matches_literal_oracle_with_non_positive_times(
    pd: tuple[list[int], list[int]], rnd: random.Random
) -> None:
    p, d = pd
    order = list(range(len(p)))
    rnd.shuffle(order)
    assert augment_order(order, p, d) == _literal(order, p, d, None)


@settings(max_examples=100, deadline=None)
@given(instances(max_n=10, weighted=False))
def test_post_processing_equals_interleaved_augmentation(inst: SmttInstance) -> None:
    # MDD and MDDC choose from (t, U) only, which a move-to-end leaves alone, so
    # augmenting the finished base order equals augmenting while dispatching.
    p, d = list(inst.processing_times), list(inst.due_dates)
    assert HEURISTICS["aug_mdd"](inst) == dispatch(p, d, "mdd", augment=True)
    assert HEURISTICS["aug_mddc"](inst) == dispatch(p, d, "mddc", augment=True)
