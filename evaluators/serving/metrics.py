"""Serving metrics: per-request TTFT/TPOT/latency, SLO attainment, summaries, goodput.

Definitions (DistServe's): TTFT = first token − arrival; TPOT = (finish − first
token) / (output tokens − 1), 0 for one-token outputs; latency = finish − arrival.
A request attains its SLO when TTFT ≤ ``ttft_slo`` *and* TPOT ≤ ``tpot_slo``.
Goodput is the highest request rate at which at least 90 % of the requests attain
both targets. p99 values use numpy's linear-interpolation percentile.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from evaluators.serving.instance import Scenario, Score, ServingInstance
from evaluators.serving.result import SimulationResult

GOODPUT_ATTAINMENT = 0.9


@dataclass(frozen=True, eq=False)
class RequestMetrics:
    """Per-request latencies of one simulation, judged by ``scenario``."""

    result: SimulationResult
    scenario: Scenario

    @cached_property
    def ttft(self) -> np.ndarray:
        """Time to first token (s)."""
        return self.result.first_token - self.result.arrival

    @cached_property
    def tpot(self) -> np.ndarray:
        """Time per output token after the first (s); 0 for one-token outputs."""
        r = self.result
        steps = np.maximum(r.output - 1, 1)
        return np.where(r.output > 1, (r.finish - r.first_token) / steps, 0.0)

    @cached_property
    def latency(self) -> np.ndarray:
        """End-to-end latency (s)."""
        return self.result.finish - self.result.arrival

    @cached_property
    def attained(self) -> np.ndarray:
        """Boolean per request: both SLOs met."""
        s = self.scenario
        return (self.ttft <= s.ttft_slo) & (self.tpot <= s.tpot_slo)

    @property
    def attainment(self) -> float:
        """Fraction of requests within both SLOs."""
        return float(self.attained.mean())

    def summary(self) -> Summary:
        """Aggregate figures."""
        r = self.result
        span = float(r.finish.max() - r.arrival.min())
        tokens = int(r.output.sum())
        return Summary(
            requests=r.size,
            attainment=self.attainment,
            ttft_attainment=float((self.ttft <= self.scenario.ttft_slo).mean()),
            tpot_attainment=float((self.tpot <= self.scenario.tpot_slo).mean()),
            mean_ttft=float(self.ttft.mean()), p99_ttft=_p99(self.ttft),
            mean_tpot=float(self.tpot.mean()), p99_tpot=_p99(self.tpot),
            mean_latency=float(self.latency.mean()), p99_latency=_p99(self.latency),
            preemptions=int(r.preemptions.sum()),
            throughput=r.size / span if span > 0 else math.inf,
            token_throughput=tokens / span if span > 0 else math.inf,
            makespan=span, iterations=r.iterations, picks=r.picks)


def _p99(values: np.ndarray) -> float:
    return float(np.percentile(values, 99))


@dataclass(frozen=True)
class Summary:
    """Aggregate metrics of one simulated window (times in seconds, rates per second)."""

    requests: int
    attainment: float
    ttft_attainment: float
    tpot_attainment: float
    mean_ttft: float
    p99_ttft: float
    mean_tpot: float
    p99_tpot: float
    mean_latency: float
    p99_latency: float
    preemptions: int
    throughput: float
    token_throughput: float
    makespan: float
    iterations: int
    picks: int

    def score(self, score: Score) -> float:
        """The objective value of ``score`` (lower is better)."""
        if score is Score.SLO:
            return 100.0 * (1.0 - self.attainment)
        return float(getattr(self, score.value))

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return dict(self.__dict__)


def objective(result: SimulationResult, scenario: Scenario) -> float:
    """The scenario's score of a simulation (lower is better)."""
    return RequestMetrics(result, scenario).summary().score(scenario.score)


@dataclass(frozen=True)
class Goodput:
    """Result of a goodput search.

    ``rate`` is the highest rate found with attainment ≥ ``target`` (``None`` if
    even ``low`` misses it); ``probes`` lists every ``(rate, attainment)`` tried.
    """

    rate: float | None
    target: float
    probes: tuple[tuple[float, float], ...]


def goodput(attainment_at: Callable[[float], float], low: float, high: float, *,
            target: float = GOODPUT_ATTAINMENT, rel_tol: float = 0.02) -> Goodput:
    """Highest rate in ``[low, high]`` with ``attainment_at(rate) >= target``, by bisection.

    Attainment falls with the rate under every sensible policy; bisection assumes it.
    ``high`` is returned when it still meets the target.
    """
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    probes: list[tuple[float, float]] = []

    def ok(rate: float) -> bool:
        value = attainment_at(rate)
        probes.append((rate, value))
        return value >= target

    if not ok(low):
        return Goodput(None, target, tuple(probes))
    if ok(high):
        return Goodput(high, target, tuple(probes))
    lo, hi = low, high
    while hi - lo > rel_tol * lo:
        mid = 0.5 * (lo + hi)
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return Goodput(lo, target, tuple(probes))


def isolated_times(instance: ServingInstance) -> tuple[np.ndarray, np.ndarray]:
    """First-token and finish time of each request served alone from time 0 (closed form).

    Alone, a prompt of ``p`` tokens is prefilled in one iteration (no chunking) or in
    chunks of the full budget ``C`` at offsets 0, C, 2C, …; then each of the
    ``d − 1`` decode iterations reads ``p + j`` KV tokens (j = 1 … d − 1).
    """
    _, p, d = (a.astype(float) for a in instance.arrays)
    server = instance.scenario.server
    cost = server.cost

    def nonattn(tokens: np.ndarray | float) -> np.ndarray:
        return np.maximum(cost.floor_ms, cost.base_ms + cost.per_token_ms * np.asarray(tokens))

    chunk = server.chunk_size
    if chunk == 0:
        prefill = nonattn(p) + cost.prefill_attn_ms * p * p
    else:
        full, rest = np.floor_divide(p, chunk), np.mod(p, chunk)
        prefill = (full * nonattn(chunk) + cost.prefill_attn_ms * chunk * chunk * full * full
                   + np.where(rest > 0, nonattn(rest) + cost.prefill_attn_ms * rest
                              * (2 * full * chunk + rest), 0.0))
    m = d - 1
    decode = m * nonattn(1) + cost.decode_attn_ms * (m * p + m * (m + 1) / 2)
    return prefill / 1e3, (prefill + decode) / 1e3


def isolation_bound(instance: ServingInstance) -> float:
    """The score of every request served alone on an idle server: a lower bound.

    Contention only lengthens iterations, adds queueing, stalls and recomputation,
    so each request's TTFT and TPOT under any policy are at least their isolated
    values: requests missing an SLO alone miss it under every policy, and the
    isolated latencies bound means and percentiles from below.
    """
    first, finish = isolated_times(instance)
    out = instance.arrays[2]
    tpot = np.where(out > 1, (finish - first) / np.maximum(out - 1, 1), 0.0)
    sc = instance.scenario
    ok = (first <= sc.ttft_slo) & (tpot <= sc.tpot_slo)
    values = {Score.SLO: 100.0 * (1.0 - float(ok.mean())),
              Score.MEAN_LATENCY: float(finish.mean()), Score.P99_LATENCY: _p99(finish),
              Score.MEAN_TTFT: float(first.mean()), Score.P99_TTFT: _p99(first),
              Score.P99_TPOT: _p99(tpot)}
    return values[sc.score]
