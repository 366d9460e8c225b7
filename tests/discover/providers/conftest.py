"""Fixtures: the fault-injecting local server, keys in the environment, a fast retry policy."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from discover.providers import (
    AttemptRecord,
    Budget,
    ModelPool,
    ModelPrice,
    PriceTable,
    ProviderSettings,
    ProviderSpec,
    RetryPolicy,
    build_pool,
)
from tests.discover.providers.fake_server import FakeServer

OPENAI_KEY = "sk-test-OPENAI-SECRET-7f3a9c41"
ANTHROPIC_KEY = "sk-ant-test-ANTHROPIC-SECRET-b2d8e6"
PRICES = PriceTable({
    "gpt-test": ModelPrice(2.0, 8.0),
    "claude-test": ModelPrice(3.0, 15.0),
    "local-test": ModelPrice(0.0, 0.0),
})
KINDS = ("openai", "anthropic", "openai-compatible")
MODEL = {"openai": "gpt-test", "anthropic": "claude-test", "openai-compatible": "local-test"}


@pytest.fixture(autouse=True)
def keys_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys only through the environment; nothing may route 127.0.0.1 through a proxy."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                     "all_proxy", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


def fast_settings(max_attempts: int = 3, threshold: int = 2, timeout: float = 5.0,
                  concurrency: int = 4) -> ProviderSettings:
    """Millisecond backoff so that tests measure Retry-After, not the backoff."""
    retry = RetryPolicy(max_attempts=max_attempts, base_delay=0.02, multiplier=2.0,
                        max_delay=0.1, jitter=0.5, max_retry_after=5.0)
    return ProviderSettings(timeout=timeout, retry=retry, max_concurrency=concurrency,
                            breaker_threshold=threshold)


def spec_for(kind: str, server: FakeServer, **options: str) -> ProviderSpec:
    url = server.anthropic_url if kind == "anthropic" else server.openai_url
    return ProviderSpec.parse(f"{kind}:{MODEL[kind]}", base_url=url, **options)


PoolFactory = Callable[..., ModelPool]


@pytest.fixture
def records() -> list[AttemptRecord]:
    return []


@pytest.fixture
def make_pool(server: FakeServer, records: list[AttemptRecord]) -> PoolFactory:
    def make(kind: str, *, settings: ProviderSettings | None = None,
             budget: Budget | None = None, seed: int = 0) -> ModelPool:
        return build_pool([(spec_for(kind, server), 1.0)], rng=np.random.default_rng(seed),
                          settings=settings or fast_settings(), prices=PRICES, budget=budget,
                          listener=records.append)
    return make
