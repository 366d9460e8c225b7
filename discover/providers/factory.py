"""Build providers from specs such as ``openai:gpt-4o-mini`` or ``openai-compatible:qwen2.5``.

Specs are ``KIND:MODEL`` with KIND one of ``openai``, ``anthropic`` or
``openai-compatible``; the model may itself contain colons (``llama3.1:8b``). A
``base_url`` points any kind at another endpoint (a local server, a proxy, a
gateway) and is required for ``openai-compatible``. Keys come only from
environment variables: ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, or the variable
the configuration names; ``openai-compatible`` without a named variable sends a
dummy key, so a hosted key is never sent to a third-party server by default.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from discover.providers.base import Provider
from discover.providers.breaker import CircuitBreaker
from discover.providers.budget import Budget
from discover.providers.cancel import CancelScope
from discover.providers.keys import resolve_api_key
from discover.providers.managed import AttemptListener, ManagedProvider
from discover.providers.pool import ModelPool, PoolMember
from discover.providers.pricing import PriceTable
from discover.providers.retry import RetryPolicy
from discover.providers.shared_rng import SharedGenerator


class ProviderKind(enum.Enum):
    """Which API (and SDK) a spec uses."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    OPENAI_COMPATIBLE = "openai-compatible"

    @property
    def default_key_variable(self) -> str | None:
        """The environment variable read when the configuration names none."""
        return {ProviderKind.OPENAI: "OPENAI_API_KEY",
                ProviderKind.ANTHROPIC: "ANTHROPIC_API_KEY"}.get(self)


class SpecError(ValueError):
    """A model spec or its options are invalid; the message says what is expected."""


@dataclass(frozen=True)
class ProviderSpec:
    """A parsed model spec.

    Parameters
    ----------
    kind
        The API.
    model
        The model name sent to it.
    base_url
        Another endpoint, or ``None`` for the provider's own.
    api_key_env
        The environment variable holding the key, or ``None`` for the kind's default.
    """

    kind: ProviderKind
    model: str
    base_url: str | None = None
    api_key_env: str | None = None

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise SpecError(f"{self.kind.value}: the model name is empty")
        if self.kind is ProviderKind.OPENAI_COMPATIBLE and not self.base_url:
            raise SpecError(
                f"openai-compatible:{self.model} needs a base URL (--base-url), e.g. "
                "http://127.0.0.1:11434/v1 for Ollama or http://127.0.0.1:8000/v1 for vLLM"
            )
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise SpecError(f"base URL {self.base_url!r} must start with http:// or https://")
        if self.api_key_env is not None and not self.api_key_env.isidentifier():
            raise SpecError(f"api_key_env {self.api_key_env!r} is not a variable name")

    @classmethod
    def parse(
        cls, text: str, *, base_url: str | None = None, api_key_env: str | None = None
    ) -> ProviderSpec:
        """Parse ``KIND:MODEL``.

        Raises
        ------
        SpecError
            On an unknown kind, a missing model, or a missing base URL for
            ``openai-compatible``.
        """
        kind_text, sep, model = text.strip().partition(":")
        kinds = ", ".join(k.value for k in ProviderKind)
        if not sep:
            raise SpecError(f"model spec {text!r} must look like KIND:MODEL with KIND in {kinds}")
        try:
            kind = ProviderKind(kind_text.lower())
        except ValueError:
            raise SpecError(
                f"unknown provider {kind_text!r} in {text!r}; use one of {kinds}"
            ) from None
        return cls(kind, model.strip(), base_url, api_key_env)

    @property
    def name(self) -> str:
        """``KIND:MODEL``."""
        return f"{self.kind.value}:{self.model}"

    @property
    def key_variable(self) -> str | None:
        """The environment variable the key is read from (``None``: dummy key)."""
        return self.api_key_env or self.kind.default_key_variable


@dataclass(frozen=True)
class ProviderSettings:
    """How every provider of a run is called.

    Parameters
    ----------
    timeout
        Seconds per request.
    retry
        Retry policy for transient failures.
    max_concurrency
        Requests in flight at once, across the whole pool.
    breaker_threshold
        Failed requests in a row (after retries) that stop the run.
    """

    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 4
    breaker_threshold: int = 5

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.max_concurrency < 1 or self.breaker_threshold < 1:
            raise ValueError("max_concurrency and breaker_threshold must be >= 1")


def connect(spec: ProviderSpec, *, timeout: float,
            environ: Mapping[str, str] | None = None) -> Provider:
    """The single-attempt SDK provider for a spec (the key is read here).

    Raises
    ------
    MissingApiKey
        When the key's variable is unset; the message names it.
    """
    required = spec.kind is not ProviderKind.OPENAI_COMPATIBLE
    key = resolve_api_key(spec.key_variable, required=required, environ=environ)
    # The SDKs are imported here, not at module import: they take seconds to import,
    # which an offline run (and every other command) should not pay.
    if spec.kind is ProviderKind.ANTHROPIC:
        from discover.providers.anthropic_provider import AnthropicProvider

        return AnthropicProvider(spec.name, spec.model, key, base_url=spec.base_url,
                                 timeout=timeout)
    from discover.providers.openai_provider import OpenAIProvider

    return OpenAIProvider(spec.name, spec.model, key, base_url=spec.base_url, timeout=timeout,
                          legacy_max_tokens=spec.kind is ProviderKind.OPENAI_COMPATIBLE)


def build_pool(
    entries: Sequence[tuple[ProviderSpec, float]],
    *,
    rng: np.random.Generator,
    settings: ProviderSettings | None = None,
    prices: PriceTable | None = None,
    budget: Budget | None = None,
    listener: AttemptListener | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
    cancel: CancelScope | None = None,
) -> ModelPool:
    """A pool of managed providers sharing one budget and one concurrency limit.

    Parameters
    ----------
    entries
        Specs and their weights.
    rng
        The run's generator: model choices are drawn from it; the retry jitter
        comes from a child spawned from it, so failures do not shift the choices.
    settings, prices, budget
        Shared by every member (defaults: :class:`ProviderSettings`, no prices, no caps).
    listener
        Receives an :class:`~discover.providers.managed.AttemptRecord` per request.
    environ
        Where keys are read (``os.environ`` by default).
    sleep
        How retries wait.
    deadline
        ``time.monotonic()`` value at which requests are cancelled (the run's time
        limit), or ``None``; see :class:`~discover.providers.managed.ManagedProvider`.
    cancel
        The run's cancel scope (its deadline and Ctrl-C): requests in flight are
        cut the moment it is cancelled.

    Raises
    ------
    MissingApiKey, SpecError
        Before any request is made.
    """
    settings = settings or ProviderSettings()
    prices = prices or PriceTable()
    budget = budget or Budget()
    semaphore = threading.BoundedSemaphore(settings.max_concurrency)
    jitter = SharedGenerator(rng.spawn(1)[0])
    members = []
    for spec, weight in entries:
        inner = connect(spec, timeout=settings.timeout, environ=environ)
        managed = ManagedProvider(
            inner, model=spec.model, retry=settings.retry, rng=jitter, prices=prices,
            budget=budget, breaker=CircuitBreaker(spec.name, settings.breaker_threshold),
            semaphore=semaphore, listener=listener, sleep=sleep, deadline=deadline,
            cancel=cancel,
        )
        members.append(PoolMember(managed, weight))
    return ModelPool(members, SharedGenerator(rng))


def pool_from_config(
    llm: Any,
    *,
    rng: np.random.Generator,
    listener: AttemptListener | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
    cancel: CancelScope | None = None,
) -> tuple[ModelPool, Budget]:
    """Build the pool and its budget from a :class:`discover.config.LlmConfig`.

    Reads ``models`` (spec, weight, base_url), ``api_key_env``, ``request_timeout``,
    ``max_attempts``, ``max_consecutive_failures``, ``concurrency``,
    ``max_tokens_total``, ``max_dollars`` and ``prices``. Offline entries are not
    providers and must be filtered out by the caller. ``deadline`` is passed to
    :func:`build_pool`, and so is ``cancel``.
    """
    specs = [
        (ProviderSpec.parse(m.spec, base_url=m.base_url, api_key_env=llm.api_key_env), m.weight)
        for m in llm.models
    ]
    settings = ProviderSettings(
        timeout=llm.request_timeout,
        retry=RetryPolicy(max_attempts=llm.max_attempts),
        max_concurrency=llm.concurrency,
        breaker_threshold=llm.max_consecutive_failures,
    )
    budget = Budget(llm.max_tokens_total, llm.max_dollars)
    pool = build_pool(specs, rng=rng, settings=settings, prices=PriceTable.from_config(llm.prices),
                      budget=budget, listener=listener, environ=environ, sleep=sleep,
                      deadline=deadline, cancel=cancel)
    return pool, budget
