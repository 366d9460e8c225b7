"""The dominance order used by the CP-SAT model keeps an optimum, and the repair never hurts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.smtt.exact.dominance import covering_pairs, dominance_matrix, repair_order
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness


@st.composite
def tie_heavy_instances(draw: st.DrawFn, max_n: int) -> SmttInstance:
    """Small value ranges so that equal p, d and w (and hence many pairs) are common."""
    n = draw(st.integers(1, max_n))
    p = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    d = draw(st.lists(st.integers(0, sum(p)), min_size=n, max_size=n))
    w = draw(st.none() | st.lists(st.integers(1, 3), min_size=n, max_size=n))
    return SmttInstance(tuple(p), tuple(d), None if w is None else tuple(w))


def respects(dom: np.ndarray, order: list[int] | tuple[int, ...]) -> bool:
    position = {j: k for k, j in enumerate(order)}
    return all(position[i] < position[j] for i, j in zip(*np.nonzero(dom), strict=True))


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(tie_heavy_instances(max_n=7))
def test_some_optimal_order_respects_every_dominance_pair(instance: SmttInstance) -> None:
    dom = dominance_matrix(instance)
    costs = {
        order: total_tardiness(instance, order)
        for order in itertools.permutations(range(instance.size))
    }
    best = min(costs.values())
    assert min(c for o, c in costs.items() if respects(dom, o)) == best


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_repair_never_increases_cost(data: st.DataObject) -> None:
    instance = data.draw(tie_heavy_instances(max_n=12))
    order = data.draw(st.permutations(list(range(instance.size))))
    repaired = repair_order(instance, order)
    assert sorted(repaired) == list(range(instance.size))
    assert respects(dominance_matrix(instance), repaired)
    assert total_tardiness(instance, repaired) <= total_tardiness(instance, order)


@settings(max_examples=50, deadline=None)
@given(tie_heavy_instances(max_n=12))
def test_covering_pairs_generate_the_whole_order(instance: SmttInstance) -> None:
    dom = dominance_matrix(instance)
    assert not np.any(np.diag(dom))
    assert not np.any(dom & dom.T)  # antisymmetric, hence no 2-cycles
    n = instance.size
    closure = np.zeros((n, n), dtype=bool)
    for i, j in covering_pairs(instance):
        closure[i, j] = True
    for k in range(n):  # Floyd–Warshall transitive closure
        closure |= closure[:, [k]] & closure[[k], :]
    assert np.array_equal(closure, dom)


def test_identical_jobs_are_ordered_by_index() -> None:
    instance = SmttInstance((3, 3, 3), (2, 2, 2), (1, 1, 1))
    assert covering_pairs(instance) == [(0, 1), (1, 2)]
    assert repair_order(instance, [2, 0, 1]) == [0, 1, 2]


def test_weight_breaks_dominance() -> None:
    # Job 0 is shorter and due earlier but lighter: no dominance either way.
    instance = SmttInstance((1, 2), (1, 2), (1, 5))
    assert not dominance_matrix(instance).any()
