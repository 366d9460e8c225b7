"""Held–Karp subset DP: stored optima, brute force, and every permutation as a bound."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.base import Status
from evaluators.smtt.exact import dp, solve
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.loaders import load_instances
from evaluators.smtt.objective import total_tardiness
from evaluators.smtt.problem import SmttProblem


@st.composite
def instances(draw: st.DrawFn, max_n: int, weighted: bool | None = None) -> SmttInstance:
    """Random instances; due dates span before-zero to after-makespan."""
    n = draw(st.integers(1, max_n))
    p = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    total = sum(p)
    d = draw(st.lists(st.integers(-5, total + 5), min_size=n, max_size=n))
    if weighted is None:
        weighted = draw(st.booleans())
    w = draw(st.lists(st.integers(1, 10), min_size=n, max_size=n)) if weighted else None
    return SmttInstance(tuple(p), tuple(d), None if w is None else tuple(w))


def brute_force(instance: SmttInstance) -> int:
    """Minimum over all n! orders, vectorized over permutations."""
    perms = np.array(list(itertools.permutations(range(instance.size))), dtype=np.int64)
    completion = np.cumsum(instance.p[perms], axis=1)
    cost = np.maximum(completion - instance.d[perms], 0) * instance.w[perms]
    return int(cost.sum(axis=1).min())


def spread_slice(count: int, classes: int = 20, per_class: int = 40) -> list[int]:
    """One instance per (RDD, TF) class, at a different offset in each class."""
    return [c * per_class + (7 * c) % per_class for c in range(classes)][:count]


def check_against_stored(data: list[SmttInstance]) -> None:
    for instance in data:
        assert instance.optimum is not None
        result = dp.solve(instance)
        assert result.objective == instance.optimum, instance.name
        assert result.solution is not None
        assert total_tardiness(instance, result.solution) == instance.optimum


@pytest.mark.slow
def test_dp_equals_stored_optimum_on_n20_uniform_slice(smtt_paper_dir: Path) -> None:
    data = load_instances(smtt_paper_dir / "n20_uniform.json")
    assert len(data) == 800
    check_against_stored([data[k] for k in spread_slice(20)])


@pytest.mark.slow
def test_dp_equals_stored_optimum_on_n20_normal_slice() -> None:
    """The bundled n20_normal: the published file's 675 instances with positive
    processing times (the paper's Normal(60, 20) draws were not clipped), each with
    its class; one instance per class, spread over the class."""
    data = SmttProblem().load("smtt:n20_normal")
    assert len(data) == 675
    by_class: dict[tuple[float | None, float | None], list[SmttInstance]] = {}
    for inst in data:
        by_class.setdefault((inst.rdd, inst.tf), []).append(inst)
    assert len(by_class) == 20
    check_against_stored([members[len(members) // 2] for members in by_class.values()])


@settings(max_examples=60, deadline=None)
@given(instances(max_n=8))
def test_dp_equals_brute_force(instance: SmttInstance) -> None:
    result = dp.solve(instance)
    assert result.objective == brute_force(instance)
    assert result.status is Status.OPTIMAL
    assert result.lower_bound == result.objective


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_every_permutation_costs_at_least_the_dp_optimum(data: st.DataObject) -> None:
    instance = data.draw(instances(max_n=14))
    order = data.draw(st.permutations(list(range(instance.size))))
    result = dp.solve(instance)
    assert total_tardiness(instance, order) >= result.objective
    assert result.solution is not None
    assert sorted(result.solution) == list(range(instance.size))
    assert total_tardiness(instance, result.solution) == result.objective


def test_subset_sums_match_definition() -> None:
    values = np.array([3, 5, 7, 11, 13])
    sums = dp.subset_sums(values)
    assert sums.shape == (32,)
    for mask in range(32):
        assert sums[mask] == sum(int(values[j]) for j in range(5) if mask >> j & 1)


def test_edge_cases() -> None:
    single = SmttInstance((4,), (1,), name="single")
    assert dp.solve(single).objective == 3
    never_late = SmttInstance((2, 3, 4), (100, 100, 100))
    assert dp.solve(never_late).objective == 0
    # Equal due dates: SPT is optimal for 1|d_j = d|ΣTj.
    equal = SmttInstance((5, 1, 3, 2), (4, 4, 4, 4))
    spt = sorted(range(4), key=lambda j: equal.p[j])
    assert dp.solve(equal).objective == total_tardiness(equal, spt)


def test_weighted_prefers_heavy_job() -> None:
    # Two identical jobs due at 0: the weight-5 job must go first (cost 5·2 + 1·4).
    instance = SmttInstance((2, 2), (0, 0), (1, 5))
    result = dp.solve(instance)
    assert result.objective == 14
    assert result.solution == (1, 0)


def test_refuses_more_than_22_jobs() -> None:
    big = SmttInstance(tuple([1] * 23), tuple([0] * 23), name="big")
    with pytest.raises(dp.TooManyJobsError, match=r"at most 22 jobs.*big.*23"):
        dp.solve(big)
    with pytest.raises(ValueError, match="at most 22"):
        solve(big, "dp")


def test_result_fields() -> None:
    instance = SmttInstance((3, 2, 5), (2, 4, 1))
    result = solve(instance, "dp", time_limit=0.001)  # the DP ignores the limit
    assert result.method == "dp"
    assert result.nodes == 8
    assert result.seconds >= 0
    assert result.is_optimal
