"""The scaling exact solver (method ``exact``) against the subset DP, MIP and stored optima."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluators.base import Status
from evaluators.smtt.exact import solve
from evaluators.smtt.exact.bnb import Outcome, solve_bnb, solve_detailed
from evaluators.smtt.exact.bnb.bounds import pairing_lower_bound, upper_bound
from evaluators.smtt.generate import SmttFamily, generate_instance
from evaluators.smtt.heuristics import HEURISTICS
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.loaders import load_instances
from evaluators.smtt.objective import total_tardiness


def _instance(p: list[int], d: list[int]) -> SmttInstance:
    return SmttInstance(tuple(p), tuple(d))


@st.composite
def nasty_instances(draw: st.DrawFn, max_n: int = 16) -> SmttInstance:
    """Random instances biased to ties and extremes in p and d."""
    n = draw(st.integers(1, max_n))
    p_max = draw(st.sampled_from([1, 2, 5, 30, 100]))
    p = draw(st.lists(st.integers(1, p_max), min_size=n, max_size=n))
    total = sum(p)
    kind = draw(st.sampled_from(["spread", "equal", "clustered", "early", "late", "few"]))
    if kind == "spread":
        d = draw(st.lists(st.integers(-5, total + 5), min_size=n, max_size=n))
    elif kind == "equal":
        d = [draw(st.integers(-5, total + 5))] * n
    elif kind == "clustered":
        centre = draw(st.integers(0, total))
        d = draw(st.lists(st.integers(centre - 3, centre + 3), min_size=n, max_size=n))
    elif kind == "early":  # every job tardy whatever the order
        d = draw(st.lists(st.integers(-10, min(p)), min_size=n, max_size=n))
    elif kind == "late":  # no job can be tardy
        d = draw(st.lists(st.integers(total, total + 10), min_size=n, max_size=n))
    else:
        values = draw(st.lists(st.integers(-3, total), min_size=1, max_size=3))
        d = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    return _instance(p, d)


def _check(instance: SmttInstance) -> None:
    truth = solve(instance, "dp").objective
    for shortcut in (True, False):
        result = solve_detailed(instance, bounds_shortcut=shortcut)
        ref = result.reference
        assert ref.status is Status.OPTIMAL
        assert ref.objective == truth, (instance, shortcut)
        assert ref.lower_bound == ref.objective
        assert ref.solution is not None
        assert total_tardiness(instance, ref.solution) == truth


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nasty_instances(max_n=12))
def test_agrees_with_subset_dp_small(instance: SmttInstance) -> None:
    _check(instance)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nasty_instances(max_n=16))
def test_agrees_with_subset_dp_up_to_16_jobs(instance: SmttInstance) -> None:
    _check(instance)


@pytest.mark.parametrize(
    ("p", "d"),
    [
        ([5], [2]),  # one job
        ([3, 3, 3, 3], [4, 4, 4, 4]),  # all ties
        ([4, 2, 7, 1, 9], [0, 0, 0, 0, 0]),  # zero due dates: SPT
        ([4, 2, 7, 1, 9], [-8, -1, -30, -2, -5]),  # negative due dates
        ([4, 2, 7, 1, 9], [23, 30, 40, 23, 50]),  # none tardy
        ([10, 10, 1, 1, 10, 1], [11, 11, 11, 11, 11, 11]),
        ([7, 7, 7, 2, 2, 2, 9, 9], [9, 16, 9, 3, 16, 3, 20, 9]),
    ],
)
def test_nasty_cases(p: list[int], d: list[int]) -> None:
    _check(_instance(p, d))


@pytest.mark.slow
def test_agrees_with_mip_where_it_finishes() -> None:
    rng = np.random.default_rng(7)
    for _ in range(4):
        p = rng.integers(1, 30, 7)
        d = rng.integers(0, int(p.sum()), 7)
        instance = _instance([int(x) for x in p], [int(x) for x in d])
        mip = solve(instance, "mip", 60)
        assert mip.status is Status.OPTIMAL
        assert solve(instance, "exact").objective == mip.objective


@pytest.mark.slow
def test_stored_optima_of_n100_one_per_class(smtt_paper_dir: Path) -> None:
    data = load_instances(smtt_paper_dir / "n100.json")
    for k in range(0, 200, 10):
        ref = solve_bnb(data[k])
        assert ref.status is Status.OPTIMAL
        assert ref.objective == data[k].optimum, data[k].name


def test_weighted_instances_are_refused() -> None:
    weighted = SmttInstance((2, 3), (1, 4), (1, 2), name="w")
    with pytest.raises(ValueError, match="1\\|\\|ΣTj only"):
        solve_bnb(weighted)


def test_non_positive_processing_times_never_reach_a_solver() -> None:
    # The instance type refuses them (one rule for every loader and solver).
    with pytest.raises(ValueError, match="processing time must be positive"):
        solve_bnb(_instance([3, 0], [1, 2]))


def test_time_limit_returns_a_bracket_never_worse_than_mdd() -> None:
    rng = np.random.default_rng(3)
    family = SmttFamily(n=300, rdd=0.2, tf=0.6)
    instance = generate_instance(family, rng)
    result = solve_detailed(instance, time_limit=0.0)
    ref = result.reference
    assert result.outcome is Outcome.TIME_LIMIT
    assert ref.status is Status.TIMEOUT
    assert ref.solution is not None
    assert total_tardiness(instance, ref.solution) == ref.objective
    assert ref.lower_bound <= ref.objective
    assert ref.lower_bound == pairing_lower_bound(instance.p, instance.d)
    assert ref.objective <= total_tardiness(instance, HEURISTICS["mdd"](instance))


def test_bounds_bracket_the_optimum() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        p = rng.integers(1, 20, 9)
        d = rng.integers(-5, int(p.sum()), 9)
        instance = _instance([int(x) for x in p], [int(x) for x in d])
        optimum = solve(instance, "dp").objective
        cost, order = upper_bound(instance.p, instance.d)
        assert pairing_lower_bound(instance.p, instance.d) <= optimum <= cost
        assert total_tardiness(instance, order) == cost
