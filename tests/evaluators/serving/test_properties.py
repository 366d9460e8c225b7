"""Hypothesis: the fast engine equals the naive simulator, and simulator invariants hold."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluators.serving.engine import decision_log, replay, simulate
from evaluators.serving.result import SimulationResult
from tests.evaluators.serving.naive import naive_simulate


def fcfs(r: Any, s: Any) -> float:
    return float(r.waiting_time)


def spf(r: Any, s: Any) -> float:
    return -float(r.prompt_tokens)


def las(r: Any, s: Any) -> float:
    return -float(r.generated_tokens)


def mixed(r: Any, s: Any) -> float:
    # Uses every time-independent feature, so both simulators see identical inputs.
    return ((r.id * 7919) % 13 - 0.5 * r.generated_tokens + 2.0 * r.kv_blocks
            - 3.0 * r.preemptions + (1.0 if r.prefill_done else 0.0) * r.prompt_tokens / 50
            + 0.01 * s.free_blocks - 0.1 * s.waiting + 0.2 * s.running)


POLICIES = {"fcfs": fcfs, "spf": spf, "las": las, "mixed": mixed}


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 24))
    block = draw(st.sampled_from([1, 2, 4, 16]))
    cap = draw(st.integers(1, 6))
    chunk = draw(st.sampled_from([0, 0, cap, cap + 3, 24, 64]))
    prompt = draw(st.lists(st.integers(1, 90), min_size=n, max_size=n))
    output = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n))
    gaps = draw(st.lists(st.sampled_from([0.0, 0.001, 0.004, 0.013, 0.05, 0.2]),
                         min_size=n, max_size=n))
    # Off the iteration grid: an arrival exactly at an iteration's end is reached by
    # different float summations in the two simulators (a tie either may break).
    arrival = (np.cumsum(gaps) * (1 + math.pi * 1e-7)).tolist()
    longest = max(p + d for p, d in zip(prompt, output, strict=True))
    watermark = draw(st.integers(0, 2))
    need = -(-(longest - 1) // block) + watermark
    num_blocks = draw(st.integers(need, need + max(4, 2 * need)))  # often too few: preemption
    cost = {"floor_ms": draw(st.sampled_from([1.0, 5.0, 9.3])),
            "base_ms": draw(st.sampled_from([0.0, 2.25])),
            "per_token_ms": draw(st.sampled_from([0.01, 0.0641, 0.5])),
            "prefill_attn_ms": draw(st.sampled_from([0.0, 1.3e-3])),
            "decode_attn_ms": draw(st.sampled_from([0.0, 0.02]))}
    server = {"block_size": block, "num_blocks": num_blocks, "watermark_blocks": watermark,
              "batch_cap": cap, "max_batch_tokens": max(longest, draw(st.integers(1, 200))),
              "chunk_size": chunk, "cost": cost}
    return {"arrival": arrival, "prompt": prompt, "output": output, "server": server}


SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SETTINGS
@given(payload=payloads(), policy=st.sampled_from(sorted(POLICIES)))
def test_engine_equals_naive_simulator(payload: dict[str, Any], policy: str) -> None:
    fast = simulate(payload, POLICIES[policy])
    slow = naive_simulate(payload, POLICIES[policy])
    assert fast.chooser.picks == slow.picks
    assert fast.pre == slow.preemptions
    assert fast.it == slow.iterations
    assert fast.first == pytest.approx(slow.first, rel=1e-9, abs=1e-12)
    assert fast.finish == pytest.approx(slow.finish, rel=1e-9, abs=1e-12)
    srv = payload["server"]
    assert slow.max_blocks <= srv["num_blocks"]
    assert slow.max_running <= srv["batch_cap"]


@pytest.mark.slow
@SETTINGS
@given(payload=payloads(), policy=st.sampled_from(sorted(POLICIES)))
def test_simulator_invariants(payload: dict[str, Any], policy: str) -> None:
    sim = simulate(payload, POLICIES[policy])
    res = SimulationResult.from_simulator(sim)
    srv = payload["server"]
    n = len(payload["arrival"])
    arrival = np.asarray(payload["arrival"])
    # Every request finishes, after its first token, which comes after its arrival.
    assert np.all(np.isfinite(res.finish)) and np.all(res.first_token > arrival)
    assert np.all(res.finish >= res.first_token)
    # Tokens are conserved: exactly `output` token times per request, strictly increasing,
    # the first at the first-token time and the last at the finish time.
    for r in range(n):
        times = res.token_times(r)
        assert len(times) == payload["output"][r]
        assert np.all(np.diff(times) > 0)
        assert times[0] == res.first_token[r] and times[-1] == res.finish[r]
    # No request is lost or duplicated: one finished stint per request.
    finished = res.stints[res.stints[:, 7] == 1, 0]
    assert sorted(finished.tolist()) == list(range(n))
    assert np.bincount(res.stints[:, 0], minlength=n).tolist() == (res.preemptions + 1).tolist()
    # Memory never exceeds the block budget (rebuilt from the stints alone).
    assert res.blocks_in_use().max() <= srv["num_blocks"]
    # Causality: admitted only after arrival; batch cap and token budget per iteration.
    starts = res.iteration_start
    admitted = res.stints[:, 1]
    assert np.all(starts[admitted] >= arrival[res.stints[:, 0]])
    budget = srv["chunk_size"] or srv["max_batch_tokens"]
    assert res.iteration_tokens.max() <= max(budget, srv["batch_cap"])
    alive = np.zeros(res.iterations + 1, dtype=int)
    np.add.at(alive, admitted, 1)
    np.add.at(alive, res.stints[:, 6] + 1, -1)
    assert np.cumsum(alive)[:-1].max() <= srv["batch_cap"]
    # Iterations do not overlap and every one takes time.
    assert np.all(res.iteration_end > starts)
    assert np.all(starts[1:] >= res.iteration_end[:-1] - 1e-12)
    # The decision log replays to the same run.
    again = replay(payload, decision_log(sim)[5:])
    assert again.first == sim.first and again.finish == sim.finish and again.it == sim.it
    assert not any(math.isnan(x) for x in sim.finish)
