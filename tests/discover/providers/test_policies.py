"""Unit tests of the policies: backoff, Retry-After parsing, prices, budget, breaker, specs."""

from __future__ import annotations

import email.utils

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discover.providers import (
    Budget,
    BudgetExhausted,
    CircuitOpen,
    Completion,
    FinishReason,
    ModelPrice,
    PriceTable,
    ProviderKind,
    ProviderSpec,
    RetryPolicy,
    SpecError,
    Unavailable,
    parse_retry_after,
)
from discover.providers.breaker import CircuitBreaker


@given(retry=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_backoff_bounds(retry: int, seed: int) -> None:
    policy = RetryPolicy(base_delay=1.0, multiplier=2.0, max_delay=30.0, jitter=0.5)
    ceiling = min(30.0, 2.0 ** (retry - 1))
    delay = policy.backoff(retry, np.random.default_rng(seed))
    assert 0.5 * ceiling <= delay <= ceiling


def test_backoff_is_reproducible_and_jittered() -> None:
    policy = RetryPolicy()
    first = [policy.delay(k, None, np.random.default_rng(3)) for k in range(1, 6)]
    second = [policy.delay(k, None, np.random.default_rng(3)) for k in range(1, 6)]
    assert first == second
    spread = {policy.delay(2, None, np.random.default_rng(s)) for s in range(20)}
    assert len(spread) == 20
    assert RetryPolicy(jitter=0.0).delay(3, None, np.random.default_rng(0)) == 4.0


def test_retry_after_wins_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=10.0)
    rng = np.random.default_rng(0)
    assert policy.delay(1, 2.5, rng) == 2.5
    assert policy.delay(1, 500.0, rng) == 10.0
    assert policy.delay(4, 0.0, rng) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"max_attempts": 0}, "max_attempts"), ({"multiplier": 0.5}, "multiplier"),
     ({"jitter": 1.5}, "jitter"), ({"base_delay": -1}, "non-negative")],
)
def test_policy_validation(kwargs: dict[str, float], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "junk", "retry-after": "9"}) == 9.0
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(42.0)
    past = email.utils.formatdate(now - 42, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now) == 0.0
    for bad in ({}, None, {"retry-after": "soon"}, {"retry-after": "-3"}, {"retry-after": "nan"}):
        assert parse_retry_after(bad) is None


def test_prices() -> None:
    table = PriceTable.from_config({
        "gpt-test": {"input": 2.5, "output": 10},
        "openai:special": ModelPrice(1.0, 1.0),
        "obj": type("P", (), {"input": 1.0, "output": 4.0})(),
    })
    assert table.cost("openai:gpt-test", "gpt-test", 1_000_000, 100_000) == pytest.approx(3.5)
    assert table.cost("openai:special", "special", 2_000_000, 0) == 2.0
    assert table.cost("x:obj", "obj", 0, 500_000) == 2.0
    assert table.cost("x:none", "none", 10, 10) is None
    with pytest.raises(ValueError, match="'bad'"):
        PriceTable.from_config({"bad": {"input": 1.0}})
    with pytest.raises(ValueError):
        ModelPrice(-1.0, 1.0)


def test_budget_caps_and_snapshot() -> None:
    budget = Budget(max_tokens=100, max_cost=1.0)
    budget.check()
    budget.record(40, 20, 0.5)
    budget.record(10, 5, None)
    snap = budget.snapshot()
    assert (snap.calls, snap.tokens, snap.cost, snap.unpriced_calls) == (2, 75, 0.5, 1)
    budget.check()
    budget.record(1, 0, 0.6)
    with pytest.raises(BudgetExhausted, match="dollar"):
        budget.check()
    tokens = Budget(max_tokens=10)
    tokens.record(6, 4, 0.0)
    with pytest.raises(BudgetExhausted, match="token"):
        tokens.check()
    with pytest.raises(ValueError):
        Budget(max_cost=0)
    with pytest.raises(ValueError):
        budget.record(-1, 0, None)


def test_circuit_breaker() -> None:
    breaker = CircuitBreaker("openai:m", threshold=3)
    error = Unavailable("server unavailable (HTTP 500)", provider="openai:m", status=500)
    breaker.failure(error)
    breaker.failure(error)
    breaker.success()
    breaker.failure(error)
    breaker.failure(error)
    assert breaker.consecutive_failures == 2
    with pytest.raises(CircuitOpen, match=r"3 requests in a row failed.*HTTP 500"):
        breaker.failure(error)
    with pytest.raises(CircuitOpen, match="openai:m"):
        breaker.check()
    with pytest.raises(ValueError):
        CircuitBreaker("x", 0)


def test_open_circuit_names_its_limit_not_later_failures() -> None:
    # Requests in flight when the circuit opens fail after it: the message stays "5 in a row".
    breaker = CircuitBreaker("openai:m", threshold=5)
    error = Unavailable("server unavailable (HTTP 500)", provider="openai:m", status=500)
    for _ in range(4):
        breaker.failure(error)
    for _ in range(3):
        with pytest.raises(CircuitOpen, match=r"openai:m.*: 5 requests in a row failed"):
            breaker.failure(error)
    with pytest.raises(CircuitOpen, match=r"5 requests in a row failed"):
        breaker.check()


@pytest.mark.parametrize(
    ("text", "kind", "model"),
    [("openai:gpt-4o-mini", ProviderKind.OPENAI, "gpt-4o-mini"),
     ("anthropic:claude-sonnet-4-5", ProviderKind.ANTHROPIC, "claude-sonnet-4-5"),
     ("OpenAI-Compatible:llama3.1:8b", ProviderKind.OPENAI_COMPATIBLE, "llama3.1:8b")],
)
def test_spec_parse(text: str, kind: ProviderKind, model: str) -> None:
    spec = ProviderSpec.parse(text, base_url="http://127.0.0.1:11434/v1")
    assert (spec.kind, spec.model) == (kind, model)
    assert spec.name == f"{kind.value}:{model}"


def test_spec_errors_and_key_variables() -> None:
    with pytest.raises(SpecError, match="KIND:MODEL"):
        ProviderSpec.parse("gpt-4o")
    with pytest.raises(SpecError, match=r"unknown provider 'mistral'.*openai-compatible"):
        ProviderSpec.parse("mistral:large")
    with pytest.raises(SpecError, match="needs a base URL"):
        ProviderSpec.parse("openai-compatible:qwen")
    with pytest.raises(SpecError, match="empty"):
        ProviderSpec.parse("openai:")
    with pytest.raises(SpecError, match="http"):
        ProviderSpec.parse("openai:m", base_url="127.0.0.1:8000")
    assert ProviderSpec.parse("openai:m").key_variable == "OPENAI_API_KEY"
    assert ProviderSpec.parse("anthropic:m").key_variable == "ANTHROPIC_API_KEY"
    assert ProviderSpec.parse("openai-compatible:m", base_url="http://h/v1").key_variable is None
    assert ProviderSpec.parse("anthropic:m", api_key_env="GW").key_variable == "GW"


def test_completion_validation() -> None:
    ok = Completion("x", "m", "openai:m", 1, 2, None, 0.1, FinishReason.STOP)
    assert ok.tokens == 3 and ok.attempts == 1
    with pytest.raises(ValueError):
        Completion("x", "m", "p", -1, 2, None, 0.1, FinishReason.STOP)
    with pytest.raises(ValueError):
        Completion("x", "m", "p", 1, 2, float("nan"), 0.1, FinishReason.STOP)
    with pytest.raises(TypeError):
        Completion("x", "m", "p", 1, 2, None, 0.1, "stop")  # type: ignore[arg-type]
