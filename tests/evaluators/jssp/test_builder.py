"""Giffler–Thompson builder: valid for any priority, equal to naive oracles, GT properties."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.jssp.builder import ACTIVE, FEATURES, NON_DELAY, build, makespan
from evaluators.jssp.instance import JsspInstance
from evaluators.jssp.objective import validate_schedule
from evaluators.jssp.rules import random_priority, rule

VARIANTS = (NON_DELAY, ACTIVE)
StaticKey = Callable[[int, int, int], float]  # (p, work_done, work_remaining) -> value


@st.composite
def instances(draw: st.DrawFn, min_duration: int = 0, permutation: bool = True
              ) -> JsspInstance:
    n = draw(st.integers(1, 5))
    ops = draw(st.integers(1, 4))
    machines = []
    for _ in range(n):
        if permutation:
            machines.append(tuple(draw(st.permutations(range(ops)))))
        else:
            machines.append(tuple(draw(st.lists(st.integers(0, ops - 1), min_size=ops,
                                                max_size=ops))))
    durations = [tuple(draw(st.lists(st.integers(min_duration, 9), min_size=ops,
                                     max_size=ops))) for _ in range(n)]
    return JsspInstance(tuple(machines), tuple(durations))


def _linear(weights: list[float]) -> Callable[..., float]:
    def priority(*features: int) -> float:
        return sum(w * f for w, f in zip(weights, features, strict=True))

    return priority


priorities = st.one_of(
    st.sampled_from(["spt", "lpt", "mwkr", "lwkr", "mopnr", "fdd_mwkr", "fifo"]).map(rule),
    st.just(lambda *f: 0),
    st.integers(0, 2**32 - 1).map(lambda s: random_priority(np.random.default_rng(s))),
    st.lists(st.floats(-5, 5), min_size=len(FEATURES), max_size=len(FEATURES)).map(_linear),
    st.just(lambda *f: -math.inf if f[0] % 2 else math.inf),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(inst=st.one_of(instances(), instances(permutation=False)), priority=priorities,
       variant=st.sampled_from(VARIANTS))
def test_any_priority_gives_a_valid_schedule(
    inst: JsspInstance, priority: Callable[..., float], variant: str
) -> None:
    start = build(inst.machines, inst.durations, priority, variant)
    assert validate_schedule(inst, start) == start
    assert makespan(inst.durations, start) >= inst.trivial_lower_bound


# --- Independent oracles: naive, recompute-everything implementations. -------------------

def _static(name: str) -> StaticKey:
    keys: dict[str, StaticKey] = {
        "spt": lambda p, done, left: p,
        "lpt": lambda p, done, left: -p,
        "mwkr": lambda p, done, left: -left,
        "fdd_mwkr": lambda p, done, left: (done + p) / max(left, 1),
    }
    return keys[name]


def oracle_non_delay(inst: JsspInstance, key: StaticKey) -> list[int]:
    """Time-stepping simulation: at each time, the lowest-index idle machine with waiting
    work takes its best operation, until no machine can start anything; then time advances.

    (Restarting from machine 0 after each decision matters only for zero-length operations,
    which can hand a job to a lower-index machine at the same instant.)
    """
    n, ops = inst.n_jobs, inst.n_ops
    nxt, job_ready, free = [0] * n, [0] * n, [0] * inst.n_machines
    start = [0] * (n * ops)
    t = 0
    while any(k < ops for k in nxt):
        while True:
            waiting = {m: [j for j in range(n) if nxt[j] < ops and inst.machines[j][nxt[j]] == m
                           and job_ready[j] <= t] for m in range(inst.n_machines) if free[m] <= t}
            idle = [m for m, cands in waiting.items() if cands]
            if not idle:
                break
            m = min(idle)
            j = min(waiting[m], key=lambda j: (key(inst.durations[j][nxt[j]],
                                                   sum(inst.durations[j][:nxt[j]]),
                                                   sum(inst.durations[j][nxt[j]:])), j))
            start[j * ops + nxt[j]] = t
            free[m] = job_ready[j] = t + inst.durations[j][nxt[j]]
            nxt[j] += 1
        t += 1
    return start


def oracle_active(inst: JsspInstance, key: StaticKey) -> list[int]:
    """Textbook Giffler–Thompson, recomputing all earliest times at every step."""
    n, ops = inst.n_jobs, inst.n_ops
    nxt, job_ready, free = [0] * n, [0] * n, [0] * inst.n_machines
    start = [0] * (n * ops)
    while any(k < ops for k in nxt):
        ready = [j for j in range(n) if nxt[j] < ops]
        mach = {j: inst.machines[j][nxt[j]] for j in ready}
        p = {j: inst.durations[j][nxt[j]] for j in ready}
        est = {j: max(job_ready[j], free[mach[j]]) for j in ready}
        c_star = min(est[j] + p[j] for j in ready)
        m_star = min(mach[j] for j in ready if est[j] + p[j] == c_star)
        conflict = [j for j in ready if mach[j] == m_star
                    and (est[j] < c_star or est[j] + p[j] == c_star)]
        j = min(conflict, key=lambda j: (key(p[j], sum(inst.durations[j][:nxt[j]]),
                                             sum(inst.durations[j][nxt[j]:])), j))
        start[j * ops + nxt[j]] = est[j]
        free[m_star] = job_ready[j] = est[j] + p[j]
        nxt[j] += 1
    return start


@settings(max_examples=300, deadline=None)
@given(inst=st.one_of(instances(), instances(permutation=False)),
       name=st.sampled_from(["spt", "lpt", "mwkr", "fdd_mwkr"]))
@pytest.mark.slow
def test_builder_matches_naive_oracles(inst: JsspInstance, name: str) -> None:
    assert build(inst.machines, inst.durations, rule(name), NON_DELAY) == \
        oracle_non_delay(inst, _static(name))
    assert build(inst.machines, inst.durations, rule(name), ACTIVE) == \
        oracle_active(inst, _static(name))


# --- Structural properties of GT schedules (positive durations). ---------------------------

def _machine_runs(inst: JsspInstance, start: list[int]) -> dict[int, list[tuple[int, int]]]:
    runs: dict[int, list[tuple[int, int]]] = {}
    ops = inst.n_ops
    for j in range(inst.n_jobs):
        for k in range(ops):
            s = start[j * ops + k]
            runs.setdefault(inst.machines[j][k], []).append((s, s + inst.durations[j][k]))
    return {m: sorted(r) for m, r in runs.items()}


def _idle_gaps(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    gaps, end = [], 0
    for s, e in runs:
        if s > end:
            gaps.append((end, s))
        end = max(end, e)
    return gaps


def _release(inst: JsspInstance, start: list[int], j: int, k: int) -> int:
    ops = inst.n_ops
    return 0 if k == 0 else start[j * ops + k - 1] + inst.durations[j][k - 1]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(inst=instances(min_duration=1), priority=priorities, variant=st.sampled_from(VARIANTS))
def test_schedules_are_active(inst: JsspInstance, priority: Callable[..., float],
                              variant: str) -> None:
    """No operation fits into an idle gap of its machine earlier than its start."""
    start = build(inst.machines, inst.durations, priority, variant)
    runs = _machine_runs(inst, start)
    for j in range(inst.n_jobs):
        for k in range(inst.n_ops):
            s, p = start[j * inst.n_ops + k], inst.durations[j][k]
            r = _release(inst, start, j, k)
            for a, b in _idle_gaps(runs[inst.machines[j][k]]):
                if b <= s:
                    assert max(a, r) + p > b, (j, k, (a, b))


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(inst=instances(min_duration=1), priority=priorities)
def test_non_delay_never_idles_with_work_waiting(inst: JsspInstance,
                                                  priority: Callable[..., float]) -> None:
    start = build(inst.machines, inst.durations, priority, NON_DELAY)
    runs = _machine_runs(inst, start)
    for j in range(inst.n_jobs):
        for k in range(inst.n_ops):
            s = start[j * inst.n_ops + k]
            r = _release(inst, start, j, k)
            for a, b in _idle_gaps(runs[inst.machines[j][k]]):
                assert b <= r or a >= s, f"machine idle in [{a},{b}) while job {j} waited"


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(inst=instances(), variant=st.sampled_from(VARIANTS))
def test_features_are_consistent(inst: JsspInstance, variant: str) -> None:
    totals = [sum(row) for row in inst.durations]
    seen: list[dict[str, int]] = []

    def spy(*args: int) -> int:
        f = dict(zip(FEATURES, args, strict=True))
        seen.append(f)
        return f["p"]

    build(inst.machines, inst.durations, spy, variant)
    assert seen
    for f in seen:
        assert all(type(v) is int for v in f.values())
        assert f["est"] == max(f["job_ready"], f["machine_ready"])
        assert f["t"] <= f["est"]
        if variant == NON_DELAY:
            assert f["est"] == f["t"]
        assert f["work_remaining"] >= f["p"] and 1 <= f["ops_remaining"] <= inst.n_ops
        assert f["work_done"] + f["work_remaining"] in totals
        assert f["machine_work_remaining"] >= f["p"] and f["machine_ops_remaining"] >= 1
        assert f["cmax"] >= f["machine_ready"] and f["cmax"] >= f["job_ready"]
        assert (f["n_jobs"], f["n_machines"]) == (inst.n_jobs, inst.n_machines)
        assert f["next_p"] >= 0 and (f["ops_remaining"] > 1 or f["next_p"] == 0)


# --- Hand-checked cases and errors. --------------------------------------------------------

def test_ties_go_to_lowest_job_index(tiny: JsspInstance) -> None:
    # Constant priority: M0 at t=0 takes job 0 (not job 2); M1 takes job 1; then at t=3
    # M0 takes job 1 (before job 2), M1 takes job 0; job 2 runs last.
    start = build(tiny.machines, tiny.durations, lambda *f: 0, NON_DELAY)
    assert start == [0, 3, 0, 3, 7, 8]


def test_spt_by_hand(tiny: JsspInstance) -> None:
    # t=0: M0 {j0:3, j2:1} -> j2 [0,1); M1 {j1} -> [0,2). t=1: M0 {j0} -> [1,4).
    # t=2: M1 {j2} -> [2,3). t=4: M0 {j1} -> [4,8), then M1 {j0} -> [4,6).
    start = build(tiny.machines, tiny.durations, rule("spt"), NON_DELAY)
    assert start == [1, 4, 0, 4, 0, 2]


def test_nan_priority_is_an_error(tiny: JsspInstance) -> None:
    with pytest.raises(ValueError, match="NaN"):
        build(tiny.machines, tiny.durations, lambda *f: math.nan)


def test_bad_arguments(tiny: JsspInstance) -> None:
    with pytest.raises(ValueError, match="variant"):
        build(tiny.machines, tiny.durations, rule("spt"), "semi")
    with pytest.raises(ValueError):
        build([[0, 1], [1]], [[1, 1], [1]], rule("spt"))
    with pytest.raises(ValueError):
        build([], [], rule("spt"))
