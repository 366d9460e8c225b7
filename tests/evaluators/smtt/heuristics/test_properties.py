"""Properties every classic heuristic must have on arbitrary instances."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.smtt.heuristics import BASELINES, HEURISTICS, atc, covert
from evaluators.smtt.heuristics.catalog import run_baseline
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.objective import total_tardiness, validate_order
from tests.evaluators.smtt.heuristics.helpers import (
    brute_force_optimum,
    instances,
    plain_tardiness,
    raw_sequences,
)

REQUIRED = {"spt", "edd", "wspt", "mdd", "psk", "atc", "covert", "eddc", "mddc",
            "aug_mdd", "aug_mddc", "mdd_ls", "mddc_ls"}


def test_catalogue_has_the_required_heuristics() -> None:
    assert set(HEURISTICS) >= REQUIRED
    assert set(HEURISTICS) == set(BASELINES)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(instances())
def test_every_heuristic_returns_a_permutation(inst: SmttInstance) -> None:
    for name, heuristic in HEURISTICS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow / divide warnings either
            order = heuristic(inst)
        assert validate_order(inst.size, order) == order, name
        assert all(type(j) is int for j in order), name


@settings(max_examples=60, deadline=None)
@given(instances(max_n=7))
def test_no_heuristic_beats_the_brute_force_optimum(inst: SmttInstance) -> None:
    best = brute_force_optimum(inst.processing_times, inst.due_dates, inst.weights)
    for name, heuristic in HEURISTICS.items():
        assert total_tardiness(inst, heuristic(inst)) >= best, name


@st.composite
def on_time_instances(draw: st.DrawFn) -> SmttInstance:
    """Instances where some order (hence EDD) has no late job."""
    n = draw(st.integers(1, 12))
    p = draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    d = [0] * n
    t = 0
    for j in order:
        t += p[j]
        d[j] = t + draw(st.integers(0, 30))
    return SmttInstance(tuple(p), tuple(d))


@settings(max_examples=100, deadline=None)
@given(on_time_instances())
def test_mdd_family_is_exact_when_no_job_need_be_late(inst: SmttInstance) -> None:
    # MDD keeps the invariant "the rest can be EDD-scheduled on time": a job
    # whose key t + p_j beats d_EDD would be on time with d_j = min d.
    assert total_tardiness(inst, HEURISTICS["edd"](inst)) == 0
    for name in ("mdd", "wmdd", "aug_mdd", "mdd_ls"):
        assert total_tardiness(inst, HEURISTICS[name](inst)) == 0, name


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(instances(max_n=10))
def test_improvements_never_worsen_their_base(inst: SmttInstance) -> None:
    cost = {name: total_tardiness(inst, h(inst)) for name, h in HEURISTICS.items()}
    # Augmentation: each prefix costs at most the base prefix (same job set,
    # same completion time of the appended job).
    assert cost["aug_mdd"] <= cost["mdd"]
    assert cost["aug_mddc"] <= cost["mddc"]
    assert cost["mdd_ls"] <= cost["mdd"]
    assert cost["mddc_ls"] <= cost["mddc"]
    assert cost["atc_ls"] <= cost["atc"]


@settings(max_examples=100, deadline=None)
@given(instances(weighted=False))
def test_spt_is_optimal_when_every_job_is_late(inst: SmttInstance) -> None:
    if max(inst.due_dates) > min(inst.processing_times):
        return
    # Every job is late in any order, so ΣT = ΣC − Σd and SPT minimises ΣC.
    spt = total_tardiness(inst, HEURISTICS["spt"](inst))
    for name in ("mdd", "psk", "eddc", "mdd_ls"):
        assert total_tardiness(inst, HEURISTICS[name](inst)) == spt, name


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(raw_sequences())
def test_core_functions_survive_non_positive_times(pd: tuple[list[int], list[int]]) -> None:
    p, d = pd
    for name, baseline in BASELINES.items():
        order = run_baseline(baseline, p, d)
        assert sorted(order) == list(range(len(p))), name


@settings(max_examples=50, deadline=None)
@given(instances(), st.floats(0.05, 20.0))
def test_atc_and_covert_accept_any_positive_k(inst: SmttInstance, k: float) -> None:
    for order in (atc(inst, k), covert(inst, k)):
        assert sorted(order) == list(range(inst.size))


def test_heuristics_scale_to_large_n() -> None:
    rng = np.random.default_rng(7)
    n = 300
    p = rng.integers(1, 101, n)
    total = int(p.sum())
    d = rng.integers(int(0.2 * total), int(0.8 * total), n)
    inst = SmttInstance(tuple(int(x) for x in p), tuple(int(x) for x in d))
    values = {}
    for name, heuristic in HEURISTICS.items():
        order = heuristic(inst)
        assert sorted(order) == list(range(n)), name
        values[name] = total_tardiness(inst, order)
        assert values[name] == plain_tardiness(inst.processing_times, inst.due_dates, order)
    assert values["aug_mdd"] <= values["mdd"]
    assert values["mdd_ls"] <= values["mdd"]
    assert values["mddc_ls"] <= values["mddc"]
