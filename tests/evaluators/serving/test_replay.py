"""Replay validation: forged or illegal decision logs are refused with typed failures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.base import Failure, FailureReason
from evaluators.serving.decisions import HEADER
from evaluators.serving.instance import Scenario, ServerConfig, ServingInstance
from evaluators.serving.metrics import RequestMetrics
from evaluators.serving.policies import HEURISTICS, compile_priority
from evaluators.serving.replay import Schedule, run_policy, validate_log
from tests.evaluators.serving.conftest import HAND_REQUESTS, toy_instance


@pytest.fixture(scope="module")
def busy() -> ServingInstance:
    """120 requests with bursts and a small KV cache: many decisions, some preemptions."""
    rng = np.random.default_rng(11)
    n = 120
    arrival = np.cumsum(rng.gamma(0.2, 0.25, n))
    server = ServerConfig(ServerConfig().cost, chunk_size=256, batch_cap=16)
    inst = ServingInstance(tuple(arrival.tolist()),
                           tuple(int(x) for x in rng.integers(10, 1500, n)),
                           tuple(int(x) for x in rng.integers(1, 200, n)), Scenario(server),
                           "busy")
    # A cache of 250 blocks forces preemptions (rebuilt with the tighter cost model).
    cost = server.cost
    small = type(cost)("small", cost.floor_ms, cost.base_ms, cost.per_token_ms,
                       cost.prefill_attn_ms, cost.decode_attn_ms, num_blocks=250)
    return inst.with_scenario(Scenario(ServerConfig(small, 256, 16, max_request_tokens=1800)))


def spf_log(inst: ServingInstance) -> list[int]:
    return list(HEURISTICS["spf"](inst))


def reason(result: object) -> FailureReason:
    assert isinstance(result, Failure), result
    return result.reason


def test_valid_log_replays_to_the_same_metrics(busy: ServingInstance) -> None:
    sched = HEURISTICS["spf"](busy)
    assert sched.result.preemptions.sum() > 0 and len(sched.picks) > 100
    checked = validate_log(busy, list(sched))
    assert isinstance(checked, Schedule)
    assert np.array_equal(checked.result.finish, sched.result.finish)
    a = RequestMetrics(checked.result, busy.scenario).summary()
    b = RequestMetrics(sched.result, busy.scenario).summary()
    assert a == b


def test_a_log_can_only_choose_an_order(busy: ServingInstance) -> None:
    """Another policy's log is legal too: the replay simply follows its choices."""
    fcfs = HEURISTICS["las"](busy)
    checked = validate_log(busy, list(fcfs))
    assert isinstance(checked, Schedule)
    assert np.array_equal(checked.result.first_token, fcfs.result.first_token)


def test_picking_a_request_before_it_arrives_is_refused() -> None:
    inst = toy_instance(HAND_REQUESTS)
    # The single pick is between B (1) and C (2) at t=0.020; C arrived at 0.010. A is
    # running, so A (0) is not eligible either.
    bad = validate_log(inst, [1, 0, 3, 4, 1, 0])
    assert reason(bad) is FailureReason.INFEASIBLE and "it is running" in bad.detail
    late = toy_instance([(0.0, 20, 3), (0.005, 30, 2), (0.010, 5, 2), (0.5, 5, 2)])
    log = list(HEURISTICS["fcfs"](late))
    forged = [*log[:HEADER], 3, *log[HEADER + 1:]]
    failure = validate_log(late, forged)
    assert reason(failure) is FailureReason.INFEASIBLE and "arrives at 0.5" in failure.detail


def test_out_of_range_duplicate_short_and_long_logs(busy: ServingInstance) -> None:
    log = spf_log(busy)
    header, picks = log[:HEADER], log[HEADER:]
    assert reason(validate_log(busy, [*header, busy.size, *picks[1:]])) \
        is FailureReason.OUT_OF_RANGE
    assert reason(validate_log(busy, [*header, -1, *picks[1:]])) is FailureReason.OUT_OF_RANGE
    short = [*header[:4], len(picks) - 5, *picks[:-5]]
    assert reason(validate_log(busy, short)) is FailureReason.MISSING
    long = [*header[:4], len(picks) + 1, *picks, picks[-1]]
    assert reason(validate_log(busy, long)) is FailureReason.WRONG_LENGTH
    mismatched = [*header[:4], len(picks) + 3, *picks]
    assert reason(validate_log(busy, mismatched)) is FailureReason.WRONG_LENGTH
    # A phase ranking three or more requests: repeat its first pick.
    sim = run_policy(busy, compile_priority("def priority(request, state):\n"
                                            "    return -request.prompt_tokens\n"))
    assert sim.picks == tuple(picks)
    k = next(i for i in range(len(picks) - 1) if picks[i] != picks[i + 1])
    dup = [*header, *picks[:k + 1], picks[k], *picks[k + 2:]]
    result = validate_log(busy, dup)
    assert reason(result) in (FailureReason.DUPLICATE, FailureReason.INFEASIBLE)


def test_duplicate_pick_within_one_phase() -> None:
    # Four requests wait together at t=0.020: the FCFS phase ranks B, C, D.
    inst = toy_instance([(0.0, 20, 3), (0.005, 30, 2), (0.010, 5, 2), (0.011, 5, 2)])
    log = list(HEURISTICS["fcfs"](inst))
    assert log[HEADER:] == [1, 2]
    failure = validate_log(inst, [*log[:HEADER], 1, 1])
    assert reason(failure) is FailureReason.DUPLICATE and "already picked" in failure.detail


def test_header_and_type_checks(busy: ServingInstance) -> None:
    log = spf_log(busy)
    assert reason(validate_log(busy, [2, *log[1:]])) is FailureReason.INFEASIBLE  # format
    wrong_chunk = [log[0], 512, *log[2:]]
    failure = validate_log(busy, wrong_chunk)
    assert reason(failure) is FailureReason.INFEASIBLE and "chunk size 512" in failure.detail
    assert reason(validate_log(busy, [log[0], log[1], 7, *log[3:]])) \
        is FailureReason.WRONG_LENGTH
    wrong_iters = [*log[:3], log[3] + 1, *log[4:]]
    failure = validate_log(busy, wrong_iters)
    assert reason(failure) is FailureReason.INFEASIBLE and "iterations" in failure.detail
    assert reason(validate_log(busy, log[:3])) is FailureReason.WRONG_LENGTH
    assert reason(validate_log(busy, {"log": log})) is FailureReason.NOT_A_SEQUENCE
    assert reason(validate_log(busy, np.array([log, log]))) is FailureReason.NOT_A_SEQUENCE
    assert reason(validate_log(busy, [*log[:-1], float(log[-1])])) is FailureReason.NON_INTEGER
    assert reason(validate_log(busy, [*log[:-1], True])) is FailureReason.NON_INTEGER
    assert reason(validate_log(busy, [*log[:-1], math.nan])) is FailureReason.NOT_FINITE
    assert isinstance(validate_log(busy, np.asarray(log)), Schedule)  # numpy ints are fine


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_forgeries_never_escape_as_errors(busy: ServingInstance, data: st.DataObject
                                                 ) -> None:
    """Any edit gives a typed failure or a legal schedule whose metrics the replay computed."""
    log = spf_log(busy)
    picks = log[HEADER:]
    k = data.draw(st.integers(0, len(picks) - 1))
    value = data.draw(st.integers(-2, busy.size + 2))
    edited = [*picks[:k], value, *picks[k + 1:]]
    if data.draw(st.booleans()):
        edited = edited[:data.draw(st.integers(0, len(edited)))]
    result = validate_log(busy, [*log[:4], len(edited), *edited])
    if isinstance(result, Failure):
        assert result.reason in set(FailureReason)
        return
    # Accepted: it replays, every request finishes, and the KV cache never overflows.
    assert np.all(np.isfinite(result.result.finish))
    assert result.result.blocks_in_use().max() <= result.result.num_blocks
