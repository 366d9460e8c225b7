"""The real openai and anthropic SDKs against the local fault-injecting server.

Every test here sends HTTP requests to 127.0.0.1 only. Elapsed times are checked
loosely (lower bounds, generous upper bounds): the machine is shared.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from discover.answers.extract import ExtractionFailure, extract_code
from discover.providers import (
    AttemptOutcome,
    AttemptRecord,
    Cancelled,
    CircuitOpen,
    Fatal,
    FinishReason,
    RateLimited,
    RequestRejected,
    RetriesExhausted,
    Unavailable,
    build_pool,
)
from tests.discover.providers.conftest import (
    ANTHROPIC_KEY,
    KINDS,
    MODEL,
    OPENAI_KEY,
    PRICES,
    PoolFactory,
    fast_settings,
    spec_for,
)
from tests.discover.providers.fake_server import CODE_ANSWER, FakeServer, Step, rate_limited

SYSTEM, USER = "You design heuristics.", "Write schedule()."
PRICE = {"openai": (2.0, 8.0), "anthropic": (3.0, 15.0), "openai-compatible": (0.0, 0.0)}


def ask(pool: object, max_tokens: int = 256, temperature: float | None = 0.7):  # type: ignore[no-untyped-def]
    return pool.complete(SYSTEM, USER, max_tokens=max_tokens, temperature=temperature)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_success_text_usage_cost_and_wire_format(
    kind: str, server: FakeServer, make_pool: PoolFactory, records: list[AttemptRecord]
) -> None:
    server.push(Step(tokens_in=1234, tokens_out=567))
    completion = ask(make_pool(kind))
    assert completion.text == CODE_ANSWER and completion.finish_reason is FinishReason.STOP
    assert (completion.tokens_in, completion.tokens_out) == (1234, 567)
    price_in, price_out = PRICE[kind]
    assert completion.cost == pytest.approx((1234 * price_in + 567 * price_out) / 1e6)
    assert completion.provider == f"{kind}:{MODEL[kind]}" and completion.model == MODEL[kind]
    assert completion.attempts == 1 and completion.latency > 0
    [request] = server.received
    if kind == "anthropic":
        assert request.path == "/v1/messages"
        # Older SDKs send x-api-key, current ones a bearer token: either way, the env var's value.
        sent = request.headers.get("x-api-key") or request.headers["authorization"]
        assert sent in (ANTHROPIC_KEY, f"Bearer {ANTHROPIC_KEY}")
        assert request.body["system"] == SYSTEM and request.body["max_tokens"] == 256
        assert request.body["messages"] == [{"role": "user", "content": USER}]
    else:
        assert request.path == "/v1/chat/completions"
        expected = "not-needed" if kind == "openai-compatible" else OPENAI_KEY
        assert request.headers["authorization"] == f"Bearer {expected}"
        assert request.body["messages"][0] == {"role": "system", "content": SYSTEM}
        token_field = "max_tokens" if kind == "openai-compatible" else "max_completion_tokens"
        assert request.body[token_field] == 256
    assert request.body["temperature"] == 0.7 and request.body["model"] == MODEL[kind]
    assert [r.outcome for r in records] == [AttemptOutcome.OK]
    assert records[0].tokens_in == 1234 and records[0].cost == completion.cost
    assert extract_code(completion.text, "schedule").ok


def test_temperature_none_is_not_sent(server: FakeServer, make_pool: PoolFactory) -> None:
    ask(make_pool("openai"), temperature=None)
    assert "temperature" not in server.received[0].body


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_429_retry_after_seconds_is_honoured(
    kind: str, server: FakeServer, make_pool: PoolFactory, records: list[AttemptRecord]
) -> None:
    server.push(rate_limited(retry_after="1"))
    start = time.monotonic()
    completion = ask(make_pool(kind))
    elapsed = time.monotonic() - start
    assert completion.attempts == 2 and len(server.received) == 2
    gap = server.received[1].at - server.received[0].at
    assert 0.95 <= gap < 4.0 and elapsed >= 0.95
    assert [r.outcome for r in records] == [AttemptOutcome.RATE_LIMITED, AttemptOutcome.OK]
    assert records[0].wait == pytest.approx(1.0) and records[0].status == 429


def test_retry_after_ms_wins_over_seconds(server: FakeServer, make_pool: PoolFactory) -> None:
    server.push(rate_limited(retry_after="30", retry_after_ms="300"))
    ask(make_pool("anthropic"))
    gap = server.received[1].at - server.received[0].at
    assert 0.28 <= gap < 3.0  # far below the 30 s of Retry-After


@pytest.mark.parametrize("kind", KINDS)
def test_transient_faults_then_success(
    kind: str, server: FakeServer, make_pool: PoolFactory, records: list[AttemptRecord]
) -> None:
    server.push(Step(status=500), Step(status=529 if kind == "anthropic" else 503))
    completion = ask(make_pool(kind))
    # Exactly three requests: the SDKs' own retries are off, ours made two.
    assert completion.attempts == 3 and len(server.received) == 3
    assert [r.outcome for r in records] == [AttemptOutcome.UNAVAILABLE] * 2 + [AttemptOutcome.OK]
    assert all(r.wait is not None and 0 < r.wait <= 0.1 for r in records[:2])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_permanent_failure_stops_with_fatal_error_after_configured_attempts(
    kind: str, server: FakeServer, make_pool: PoolFactory
) -> None:
    server.default = Step(status=500)
    pool = make_pool(kind, settings=fast_settings(max_attempts=3, threshold=2))
    with pytest.raises(RetriesExhausted) as first:
        ask(pool)
    assert first.value.attempts == 3 and isinstance(first.value.last, Unavailable)
    assert len(server.received) == 3
    with pytest.raises(CircuitOpen) as second:
        ask(pool)
    assert len(server.received) == 6
    message = str(second.value)
    assert "2 requests in a row failed" in message and "HTTP 500" in message
    assert f"{kind}:{MODEL[kind]}" in message and isinstance(second.value, Fatal)
    with pytest.raises(CircuitOpen):
        ask(pool)
    assert len(server.received) == 6  # an open circuit sends nothing


def test_success_resets_the_consecutive_failure_count(
    server: FakeServer, make_pool: PoolFactory
) -> None:
    pool = make_pool("openai", settings=fast_settings(max_attempts=1, threshold=2))
    for _ in range(3):
        server.push(Step(status=500), Step())
        with pytest.raises(RetriesExhausted):
            ask(pool)
        ask(pool)
    assert len(server.received) == 6


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_slow_response_times_out_and_is_retried(
    kind: str, server: FakeServer, make_pool: PoolFactory, records: list[AttemptRecord]
) -> None:
    server.push(Step(delay=3.0))
    start = time.monotonic()
    completion = ask(make_pool(kind, settings=fast_settings(timeout=0.5)))
    elapsed = time.monotonic() - start
    assert completion.attempts == 2 and 0.45 <= elapsed < 2.5
    assert records[0].outcome is AttemptOutcome.UNAVAILABLE
    assert "timed out" in (records[0].error or "")


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("body", [b"{not json", b"", b'{"unexpected": true}'])
def test_malformed_responses_are_transient(
    kind: str, body: bytes, server: FakeServer, make_pool: PoolFactory, records: list[AttemptRecord]
) -> None:
    server.push(Step(raw_body=body))
    completion = ask(make_pool(kind))
    assert completion.attempts == 2
    assert "malformed" in (records[0].error or "")


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_truncated_and_code_less_answers(
    kind: str, server: FakeServer, make_pool: PoolFactory
) -> None:
    cut = CODE_ANSWER[: CODE_ANSWER.index("key=")]
    server.push(Step(text=cut, finish="length"), Step(text="I cannot write code today."))
    pool = make_pool(kind)
    truncated = ask(pool)
    assert truncated.finish_reason is FinishReason.LENGTH
    assert extract_code(truncated.text, "schedule").failure is ExtractionFailure.TRUNCATED
    codeless = ask(pool)
    assert codeless.finish_reason is FinishReason.STOP
    assert extract_code(codeless.text, "schedule").failure is ExtractionFailure.NO_CODE


@pytest.mark.parametrize(
    ("status", "error", "fragment"),
    [(401, Fatal, "authentication failed"), (403, Fatal, "authentication failed"),
     (404, Fatal, "not found"), (400, RequestRejected, "rejected")],
)
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_non_retryable_errors_make_one_request(
    kind: str, status: int, error: type[Exception], fragment: str,
    server: FakeServer, make_pool: PoolFactory,
) -> None:
    server.push(Step(status=status))
    with pytest.raises(error, match=fragment) as info:
        ask(make_pool(kind))
    assert len(server.received) == 1 and not isinstance(info.value, RateLimited)
    if status == 401:
        variable = "ANTHROPIC_API_KEY" if kind == "anthropic" else "OPENAI_API_KEY"
        assert variable in str(info.value)


def test_exhausted_quota_is_fatal_not_retried(server: FakeServer, make_pool: PoolFactory) -> None:
    body = json.dumps({"error": {"message": "You exceeded your current quota",
                                 "type": "insufficient_quota", "code": "insufficient_quota"}})
    server.push(Step(status=429, raw_body=body.encode()))
    with pytest.raises(Fatal, match="quota exhausted"):
        ask(make_pool("openai"))
    assert len(server.received) == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_deadline_cuts_a_request_in_flight_without_retry_or_breaker(
        server: FakeServer, make_pool: PoolFactory, records: list[AttemptRecord],
        kind: str) -> None:
    make_pool(kind)  # the SDK is imported (seconds on a busy machine) before the clock starts
    server.push(Step(delay=30.0), Step(delay=30.0))
    pool = build_pool([(spec_for(kind, server), 1.0)], rng=np.random.default_rng(0),
                      settings=fast_settings(max_attempts=3, threshold=1, timeout=60.0),
                      prices=PRICES, listener=records.append, deadline=time.monotonic() + 2.0)
    start = time.monotonic()
    with pytest.raises(Cancelled, match="time limit was reached after"):
        ask(pool)
    assert time.monotonic() - start < 4.0
    assert len(server.received) == 1  # not retried past the deadline
    assert [r.outcome for r in records] == [AttemptOutcome.CANCELLED]
    with pytest.raises(Cancelled, match="before"):  # nothing is sent after it
        ask(pool)
    assert len(server.received) == 1
    # threshold=1, yet the circuit is closed: a cancelled request is not a provider failure.
    member = pool.members[0].provider
    assert member.breaker.consecutive_failures == 0  # type: ignore[attr-defined]
