"""Keys never leak; budgets, the concurrency limit and the weighted pool hold end to end."""

from __future__ import annotations

import logging
import pickle
import threading
from collections import Counter

import numpy as np
import pytest

from discover.config import LlmConfig, ModelSpec, Price
from discover.providers import (
    AttemptRecord,
    Budget,
    BudgetExhausted,
    CircuitOpen,
    MissingApiKey,
    ProviderSpec,
    RetriesExhausted,
    build_pool,
    pool_from_config,
)
from discover.providers.keys import ApiKey, resolve_api_key
from tests.discover.providers.conftest import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    PRICES,
    PoolFactory,
    fast_settings,
    spec_for,
)
from tests.discover.providers.fake_server import FakeServer, Step, rate_limited


def test_keys_never_appear_in_objects_errors_records_or_logs(
    server: FakeServer, make_pool: PoolFactory, records: list[AttemptRecord],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the SDKs' and httpx's included
    seen: list[str] = []
    for kind in ("openai", "anthropic"):
        pool = make_pool(kind, settings=fast_settings(max_attempts=2, threshold=5))
        server.push(rate_limited(retry_after_ms="10"), Step(), Step(status=500), Step(status=500),
                    Step(status=401))
        completion = pool.complete("s", "u", max_tokens=10)
        seen += [repr(completion), str(completion), repr(pool), str(pool), pool.name]
        seen += [repr(m.provider) for m in pool.members]
        seen += [repr(m.provider.inner) for m in pool.members]  # type: ignore[attr-defined]
        for _ in range(2):
            try:
                pool.complete("s", "u", max_tokens=10)
            except Exception as error:  # collect every error text
                seen += [str(error), repr(error), repr(error.__cause__), str(error.__cause__)]
    seen += [repr(r) for r in records]
    assert len(records) >= 8 and any(r.error for r in records)
    everything = "\n".join(seen) + caplog.text
    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"openai", "anthropic", "discover"} <= loggers, loggers  # the SDKs' debug logs too
    assert "HTTP 500" in everything and "authentication failed" in everything
    for key in (OPENAI_KEY, ANTHROPIC_KEY):
        assert key not in everything
        assert key[-8:] not in everything  # not even a suffix
    # ...while the server did receive them, from the environment.
    sent = " ".join(r.headers.get("authorization", "") + r.headers.get("x-api-key", "")
                    for r in server.received)
    assert OPENAI_KEY in sent and ANTHROPIC_KEY in sent


def test_api_key_object_hides_its_value() -> None:
    key = ApiKey("sk-very-secret", "OPENAI_API_KEY")
    for text in (repr(key), str(key), f"{key}", f"{key!r}", f"{key:>5}"):
        assert "sk-very-secret" not in text and "OPENAI_API_KEY" in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)
    assert key.reveal() == "sk-very-secret"


def test_missing_key_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, server: FakeServer
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(MissingApiKey, match="OPENAI_API_KEY"):
        build_pool([(spec_for("openai", server), 1.0)], rng=np.random.default_rng(0))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "   ")
    with pytest.raises(MissingApiKey, match="ANTHROPIC_API_KEY"):
        build_pool([(spec_for("anthropic", server), 1.0)], rng=np.random.default_rng(0))
    assert server.received == []


def test_configured_key_variable(monkeypatch: pytest.MonkeyPatch, server: FakeServer) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", "gw-123-secret")
    for kind in ("openai", "openai-compatible"):
        spec = spec_for(kind, server, api_key_env="MY_GATEWAY_KEY")
        build_pool([(spec, 1.0)], rng=np.random.default_rng(0)).complete("s", "u", max_tokens=5)
    assert [r.headers["authorization"] for r in server.received] == ["Bearer gw-123-secret"] * 2
    with pytest.raises(MissingApiKey, match="NOT_SET_ANYWHERE"):
        build_pool([(spec_for("openai-compatible", server, api_key_env="NOT_SET_ANYWHERE"), 1.0)],
                   rng=np.random.default_rng(0))


def test_resolve_api_key_with_explicit_environment() -> None:
    assert resolve_api_key("K", required=True, environ={"K": " v "}).reveal() == "v"
    assert resolve_api_key(None, required=False, environ={}).is_dummy
    with pytest.raises(MissingApiKey):
        resolve_api_key(None, required=True, environ={})


def test_token_budget_stops_before_the_next_request(
    server: FakeServer, make_pool: PoolFactory
) -> None:
    budget = Budget(max_tokens=300)
    pool = make_pool("openai", budget=budget)
    for _ in range(2):
        pool.complete("s", "u", max_tokens=10)  # 165 tokens each
    with pytest.raises(BudgetExhausted, match="330 of 300 tokens"):
        pool.complete("s", "u", max_tokens=10)
    assert len(server.received) == 2
    snapshot = budget.snapshot()
    assert (snapshot.calls, snapshot.tokens_in, snapshot.tokens_out) == (2, 240, 90)


def test_dollar_budget_matches_server_usage(server: FakeServer, make_pool: PoolFactory) -> None:
    budget = Budget(max_cost=0.05)
    pool = make_pool("anthropic", budget=budget)
    server.default = Step(tokens_in=4000, tokens_out=1000)  # 4000*3e-6 + 1000*15e-6 = $0.027
    pool.complete("s", "u", max_tokens=10)
    pool.complete("s", "u", max_tokens=10)
    with pytest.raises(BudgetExhausted, match="dollar budget"):
        pool.complete("s", "u", max_tokens=10)
    assert budget.snapshot().cost == pytest.approx(0.054)
    assert len(server.received) == 2


def test_unknown_model_costs_none_and_warns_once(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    spec = ProviderSpec.parse("openai:unpriced-model", base_url=server.openai_url)
    budget = Budget(max_cost=1.0)
    pool = build_pool([(spec, 1.0)], rng=np.random.default_rng(0), prices=PRICES, budget=budget)
    with caplog.at_level(logging.WARNING):
        costs = [pool.complete("s", "u", max_tokens=5).cost for _ in range(3)]
    assert costs == [None, None, None]
    assert caplog.text.count("no price for model 'unpriced-model'") == 1
    assert budget.snapshot().unpriced_calls == 3 and budget.snapshot().cost == 0.0


@pytest.mark.slow
def test_concurrency_limit_holds_across_threads(server: FakeServer, make_pool: PoolFactory) -> None:
    server.default = Step(delay=0.25)
    pool = make_pool("openai", settings=fast_settings(concurrency=2))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            pool.complete("s", "u", max_tokens=5)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors and len(server.received) == 6
    assert server.max_in_flight == 2


@pytest.mark.slow
def test_weighted_pool_end_to_end(server: FakeServer) -> None:
    entries = [(spec_for("openai", server), 3.0), (spec_for("anthropic", server), 1.0)]
    picks = []
    for seed in (7, 7, 8):
        pool = build_pool(entries, rng=np.random.default_rng(seed), prices=PRICES)
        picks.append([pool.complete("s", "u", max_tokens=5).provider for _ in range(20)])
    assert picks[0] == picks[1] != picks[2]  # same seed, same choices
    counts = Counter(picks[0] + picks[2])
    assert 21 <= counts["openai:gpt-test"] <= 38  # expected 30 of 40
    paths = Counter(r.path for r in server.received)
    assert paths["/v1/chat/completions"] == 3 * 20 - paths["/v1/messages"]
    chosen_openai = sum(p == "openai:gpt-test" for run in picks for p in run)
    assert paths["/v1/chat/completions"] == chosen_openai


def test_pool_member_failure_propagates(server: FakeServer) -> None:
    server.default = Step(status=503)
    pool = build_pool([(spec_for("openai", server), 1.0)], rng=np.random.default_rng(0),
                      settings=fast_settings(max_attempts=2, threshold=3))
    with pytest.raises(RetriesExhausted, match="HTTP 503"):
        pool.complete("s", "u", max_tokens=5)


def test_pool_from_run_config(server: FakeServer, records: list[AttemptRecord]) -> None:
    llm = LlmConfig(
        models=(ModelSpec("openai:gpt-test", 2.0, server.openai_url),
                ModelSpec("anthropic:claude-test", 1.0, server.anthropic_url)),
        max_attempts=2, max_consecutive_failures=1, concurrency=1, request_timeout=5.0,
        max_tokens_total=10_000,
        prices={"gpt-test": Price(2.0, 8.0), "claude-test": Price(3.0, 15.0)},
    )
    pool, budget = pool_from_config(llm, rng=np.random.default_rng(1), listener=records.append,
                                    sleep=lambda seconds: None)
    assert [m.weight for m in pool.members] == [2.0, 1.0]
    completion = pool.complete("s", "u", max_tokens=5)
    expected = {"openai:gpt-test": (120 * 2 + 45 * 8) / 1e6,
                "anthropic:claude-test": (120 * 3 + 45 * 15) / 1e6}
    assert completion.cost == pytest.approx(expected[completion.provider])
    assert budget.max_tokens == 10_000 and budget.snapshot().tokens == 165
    server.default = Step(status=500)
    with pytest.raises(CircuitOpen):  # threshold 1: the first call that fails for good stops
        pool.complete("s", "u", max_tokens=5)
    assert len(server.received) == 3  # 1 success + max_attempts=2
