"""Metric definitions, goodput search and the isolation lower bound."""

from __future__ import annotations

import numpy as np
import pytest

from evaluators.serving.instance import Scenario, Score
from evaluators.serving.metrics import RequestMetrics, goodput, isolation_bound, objective
from evaluators.serving.policies import HEURISTICS
from evaluators.serving.replay import run_policy
from tests.evaluators.serving.conftest import HAND_REQUESTS, toy_instance


def test_metrics_of_the_hand_timeline() -> None:
    # vLLM FCFS on HAND_REQUESTS: first tokens .020/.055/.055, finishes .075/.065/.065.
    inst = toy_instance(HAND_REQUESTS)
    sched = run_policy(inst, lambda r, s: r.waiting_time)
    scenario = Scenario(inst.scenario.server, ttft_slo=0.046, tpot_slo=0.02)
    m = RequestMetrics(sched.result, scenario)
    assert m.ttft == pytest.approx([0.020, 0.050, 0.045])
    assert m.tpot == pytest.approx([0.0275, 0.010, 0.010])  # A: (0.075-0.020)/2
    assert m.latency == pytest.approx([0.075, 0.060, 0.055])
    assert m.attained.tolist() == [False, False, True]  # A misses TPOT, B misses TTFT
    s = m.summary()
    assert s.attainment == pytest.approx(1 / 3) and s.ttft_attainment == pytest.approx(2 / 3)
    assert s.mean_latency == pytest.approx(0.19 / 3)
    assert s.p99_ttft == pytest.approx(np.percentile([0.020, 0.050, 0.045], 99))
    assert s.throughput == pytest.approx(3 / 0.075) and s.preemptions == 0
    assert s.score(Score.SLO) == pytest.approx(100 * 2 / 3)
    assert objective(sched.result, Scenario(inst.scenario.server, score=Score.MEAN_LATENCY)) \
        == pytest.approx(s.mean_latency)


def test_goodput_bisection() -> None:
    calls: list[float] = []

    def attainment(rate: float) -> float:
        calls.append(rate)
        return 1.0 if rate <= 3.3 else 0.5

    result = goodput(attainment, 1.0, 8.0, rel_tol=0.01)
    assert result.rate is not None and 3.3 * 0.99 <= result.rate <= 3.3
    assert len(result.probes) == len(calls) < 15
    assert goodput(lambda r: 0.1, 1.0, 2.0).rate is None
    assert goodput(lambda r: 0.95, 1.0, 2.0).rate == 2.0


@pytest.mark.parametrize("score", list(Score))
@pytest.mark.parametrize("chunk", [0, 64])
def test_isolation_bound_is_below_every_policy(score: Score, chunk: int) -> None:
    rng = np.random.default_rng(4)
    n = 60
    reqs = list(zip(np.cumsum(rng.exponential(0.01, n)).tolist(),
                    rng.integers(1, 70, n).tolist(), rng.integers(1, 30, n).tolist(),
                    strict=True))
    inst = toy_instance(reqs, chunk=chunk, cap=8)
    inst = inst.with_scenario(Scenario(inst.scenario.server, ttft_slo=0.03, tpot_slo=0.012,
                                       score=score))
    bound = isolation_bound(inst)
    for name, heuristic in HEURISTICS.items():
        if name in ("fcfs", "sarathi"):
            continue  # other builders; the bound is for the scenario's builder
        value = objective(heuristic(inst).result, inst.scenario)
        assert bound <= value + 1e-12, name
