"""The simulator against hand-computed timelines and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluators.serving.engine import decision_log, replay, simulate
from evaluators.serving.instance import Scenario, ServerConfig, ServingInstance
from evaluators.serving.metrics import isolated_times
from evaluators.serving.policies import HEURISTICS
from evaluators.serving.replay import run_policy
from tests.evaluators.serving.conftest import HAND_REQUESTS as HAND
from tests.evaluators.serving.conftest import toy_cost, toy_instance


def fcfs(request, state):  # type: ignore[no-untyped-def]
    return request.waiting_time


# HAND: three requests (arrival s, prompt, output) on the toy server: iterations
# take max(10, N) ms for N batched tokens, no attention cost, no memory pressure.


def test_fcfs_vllm_by_hand() -> None:
    """vLLM builder (whole prompts, prefill iterations first), FCFS.

    t=0      A alone: prefill 20 tokens, 20 ms             -> A's first token at 0.020
    t=0.020  B, C waiting: FCFS admits B then C, 35 tokens -> first tokens at 0.055 (A stalls)
    t=0.055  decode A, B, C (3 tokens, 10 ms)             -> B and C finish at 0.065
    t=0.065  decode A                                     -> A finishes at 0.075
    The only decision between two requests is B before C: one pick, request 1.
    """
    sim = simulate(toy_instance(HAND).payload(), fcfs)
    assert sim.first == pytest.approx([0.020, 0.055, 0.055])
    assert sim.finish == pytest.approx([0.075, 0.065, 0.065])
    assert sim.it == 4 and sim.pre == [0, 0, 0]
    assert decision_log(sim) == [1, 0, 3, 4, 1, 1]


def test_fcfs_sarathi_by_hand() -> None:
    """Sarathi builder with a 16-token budget (decodes + chunks), FCFS.

    t=0      A: chunk 16 of 20 (16 ms)                                   -> 0.016
    t=0.016  A's last 4 tokens; B, C waiting, FCFS picks B: chunk 12/30   -> 0.032, A's first
    t=0.032  decode A (1) + B chunk 15 (27/30)                            -> 0.048
    t=0.048  decode A (its 3rd token: done) + B's last 3 + C whole (5)    -> 0.058 (9 tok, 10 ms)
    t=0.058  decode B, C (10 ms)                                          -> 0.068, both finish
    """
    sim = simulate(toy_instance(HAND, chunk=16).payload(), fcfs)
    assert sim.first == pytest.approx([0.032, 0.058, 0.058])
    assert sim.finish == pytest.approx([0.058, 0.068, 0.068])
    assert sim.it == 5
    assert decision_log(sim) == [1, 16, 3, 5, 1, 1]


def test_preemption_by_hand() -> None:
    """Two requests compete for 6 blocks of 4 tokens (recompute preemption, FCFS).

    A (t=0, prompt 8, output 9) and B (t=0, prompt 8, output 9) are admitted together
    (2 + 2 blocks, 16 tokens, 16 ms). Each decode writes one token; the third block
    of each is taken at the 1st decode (KV 8 -> 9), the fourth at the 5th (12 -> 13):
    6 blocks cannot hold both, so before that decode B (the later arrival, lowest
    FCFS priority) is preempted; A runs alone to its 9th token. B then re-prefills
    8 + 5 = 13 tokens (which yields its 6th token) and decodes three more.
    """
    inst = toy_instance([(0.0, 8, 9), (0.0, 8, 9)], cost=toy_cost(num_blocks=6))
    sim = simulate(inst.payload(), fcfs)
    # 16 ms prefill, 4 decodes of both (10 ms each), then A alone: 4 decodes.
    assert sim.first == pytest.approx([0.016, 0.016])
    assert sim.finish[0] == pytest.approx(0.016 + 8 * 0.010)
    assert sim.pre == [0, 1]
    # B: re-prefill 13 tokens (13 ms) then 3 decodes of 10 ms.
    assert sim.finish[1] == pytest.approx(sim.finish[0] + 0.013 + 3 * 0.010)
    # The preemption was a decision between A and B (B picked as the victim),
    # the admission at t=0 another (A first).
    assert decision_log(sim)[5:] == [0, 1]


@pytest.mark.parametrize("chunk", [0, 512])
@pytest.mark.parametrize(("prompt", "output"), [(1, 1), (20, 3), (513, 40), (3000, 100),
                                                (4095, 1)])
def test_single_request_latency_is_the_cost_model_sum(chunk: int, prompt: int,
                                                      output: int) -> None:
    server = ServerConfig(chunk_size=chunk)
    cost = server.cost
    inst = ServingInstance((0.0,), (prompt,), (output,), Scenario(server))
    result = run_policy(inst, fcfs).result
    # Explicit per-iteration sum with the cost model's own formula.
    if chunk:
        chunks = [(min(chunk, prompt - k), k) for k in range(0, prompt, chunk)]
        ttft = sum(cost.iteration_ms((), [c]) for c in chunks)
    else:
        ttft = cost.iteration_ms((), [(prompt, 0)])
    decode = sum(cost.iteration_ms([prompt + j - 1]) for j in range(1, output))
    assert result.first_token[0] == pytest.approx(ttft / 1e3, rel=1e-12)
    assert result.finish[0] == pytest.approx((ttft + decode) / 1e3, rel=1e-12)
    first, finish = isolated_times(inst)
    assert (first[0], finish[0]) == pytest.approx((ttft / 1e3, (ttft + decode) / 1e3),
                                                  rel=1e-12)


def test_saturated_prefill_throughput_matches_the_cost_model() -> None:
    """600 one-token requests of 64 prompt tokens at t=0: 64 per 4096-token iteration."""
    server = ServerConfig(chunk_size=0)
    inst = ServingInstance((0.0,) * 600, (64,) * 600, (1,) * 600, Scenario(server))
    result = run_policy(inst, fcfs).result
    cost = server.cost
    full = cost.iteration_ms((), [(64, 0)] * 64)
    assert full == pytest.approx(cost.nonattn_ms(4096) + 64 * cost.prefill_attn_ms * 64 ** 2)
    expected = 9 * full + cost.iteration_ms((), [(64, 0)] * 24)
    assert result.finish.max() == pytest.approx(expected / 1e3, rel=1e-12)
    # Throughput over the full iterations equals the cost model's batch throughput.
    ninth = np.sort(result.finish)[64 * 9 - 1]
    assert 64 * 9 / ninth == pytest.approx(64 / (full / 1e3), rel=1e-12)


def test_saturated_decode_throughput_matches_the_cost_model() -> None:
    """256 requests (prompt 16, output 200) at t=0 with batch cap 128, no attention cost:
    two waves of one 2048-token prefill and 199 decode iterations of 128 tokens."""
    cost = toy_cost(num_blocks=20000, block_size=16, floor_ms=9.3, base_ms=2.25,
                    per_token_ms=0.0641)
    server = ServerConfig(cost, chunk_size=0, batch_cap=128)
    inst = ServingInstance((0.0,) * 256, (16,) * 256, (200,) * 256, Scenario(server))
    result = run_policy(inst, fcfs).result
    wave = cost.nonattn_ms(2048) + 199 * cost.nonattn_ms(128)
    assert result.finish.max() == pytest.approx(2 * wave / 1e3, rel=1e-12)
    # In the decode phase the replica emits 128 tokens per nonattn(128): the cost
    # model's batch throughput.
    first_wave = result.first_token == result.first_token.min()
    span = result.finish[first_wave].max() - result.first_token[first_wave].min()
    batch_rate = 128 / (cost.nonattn_ms(128) / 1e3)
    assert 128 * 199 / span == pytest.approx(batch_rate, rel=1e-9)


def test_replay_reproduces_a_run_exactly() -> None:
    rng = np.random.default_rng(3)
    n = 300
    arrival = np.cumsum(rng.exponential(0.15, n)).tolist()
    payload = {"arrival": arrival, "prompt": rng.integers(1, 2000, n).tolist(),
               "output": rng.integers(1, 300, n).tolist(),
               "server": ServerConfig(ServerConfig().cost, chunk_size=512).to_wire()}
    payload["server"].update(num_blocks=300, watermark_blocks=0)  # memory pressure
    sim = simulate(payload, lambda r, s: -r.prompt_tokens + 3 * r.kv_blocks)
    assert sum(sim.pre) > 0 and sim.chooser.decisions > 50
    again = replay(payload, decision_log(sim)[5:])
    assert again.first == sim.first and again.finish == sim.finish and again.pre == sim.pre
    assert again.it == sim.it


def test_heuristics_cover_the_issue_baselines() -> None:
    assert set(HEURISTICS) == {"fcfs", "sarathi", "spf", "las", "srpt_oracle", "srpt_noisy"}


def test_bad_payloads_are_refused() -> None:
    good = toy_instance(HAND).payload()
    for key, value, message in (
            ("arrival", [0.0, 0.5, 0.1], "non-decreasing"),
            ("prompt", [0, 30, 5], "at least one prompt"),
            ("output", [1, 2], "same, non-zero number")):
        bad = {**good, key: value}
        with pytest.raises(ValueError, match=message):
            simulate(bad, fcfs)
    tight = {**good, "server": {**good["server"], "num_blocks": 5}}
    with pytest.raises(ValueError, match="does not fit the KV cache"):
        simulate(tight, fcfs)
    with pytest.raises(ValueError, match="NaN"):
        simulate(good, lambda r, s: math.nan)
