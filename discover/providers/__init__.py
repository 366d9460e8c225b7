"""Language-model providers: OpenAI, Anthropic and OpenAI-compatible servers.

Build a pool with :func:`build_pool` (or :func:`pool_from_config`) and call
``pool.complete(system, user, max_tokens=..., temperature=...)``; see
:mod:`discover.providers.base` for what it returns and raises.
"""

from discover.providers.base import (
    BudgetExhausted,
    Cancelled,
    CircuitOpen,
    Completion,
    Fatal,
    FinishReason,
    MissingApiKey,
    PartialUsage,
    Provider,
    ProviderError,
    RateLimited,
    RequestRejected,
    RetriesExhausted,
    TransientError,
    Unavailable,
)
from discover.providers.budget import Budget, BudgetSnapshot
from discover.providers.cancel import CancelScope
from discover.providers.factory import (
    ProviderKind,
    ProviderSettings,
    ProviderSpec,
    SpecError,
    build_pool,
    connect,
    pool_from_config,
)
from discover.providers.managed import AttemptOutcome, AttemptRecord, ManagedProvider
from discover.providers.pool import ModelPool, PoolMember
from discover.providers.pricing import ModelPrice, PriceTable
from discover.providers.retry import RetryPolicy, parse_retry_after

__all__ = [
    "AttemptOutcome",
    "AttemptRecord",
    "Budget",
    "BudgetExhausted",
    "BudgetSnapshot",
    "CancelScope",
    "Cancelled",
    "CircuitOpen",
    "Completion",
    "Fatal",
    "FinishReason",
    "ManagedProvider",
    "MissingApiKey",
    "ModelPool",
    "ModelPrice",
    "PartialUsage",
    "PoolMember",
    "PriceTable",
    "Provider",
    "ProviderError",
    "ProviderKind",
    "ProviderSettings",
    "ProviderSpec",
    "RateLimited",
    "RequestRejected",
    "RetriesExhausted",
    "RetryPolicy",
    "SpecError",
    "TransientError",
    "Unavailable",
    "build_pool",
    "connect",
    "parse_retry_after",
    "pool_from_config",
]
