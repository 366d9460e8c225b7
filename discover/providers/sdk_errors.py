"""Translate the openai / anthropic SDK exceptions into discover's typed errors.

Both SDKs share one exception design (``APIStatusError`` with ``status_code``
and ``response``, ``APITimeoutError`` under ``APIConnectionError``), so one
translation serves both: the module of the SDK is passed in.
"""

from __future__ import annotations

from types import ModuleType

from discover.providers.base import (
    Fatal,
    ProviderError,
    RateLimited,
    RequestRejected,
    Unavailable,
)
from discover.providers.retry import parse_retry_after

_MAX_MESSAGE = 300


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def from_status(
    status: int, headers: dict[str, str], message: str, *, provider: str, key_source: str
) -> ProviderError:
    """Typed error for an HTTP error status.

    429 is a rate limit unless it reports an exhausted quota (then retrying is
    pointless); 408, 409, 5xx and 529 are transient; 401/402/403/404 are
    configuration errors; other 4xx reject this request only.
    """
    retry_after = parse_retry_after(headers)
    detail = _short(message)
    if status == 429:
        lowered = message.lower()
        if "insufficient_quota" in lowered or ("quota" in lowered and "exceeded" in lowered):
            return Fatal(f"quota exhausted (HTTP 429): {detail}", provider=provider, status=status)
        return RateLimited(f"rate limited (HTTP 429): {detail}", provider=provider,
                           status=status, retry_after=retry_after)
    if status in (408, 409) or status >= 500:
        return Unavailable(f"server unavailable (HTTP {status}): {detail}", provider=provider,
                           status=status, retry_after=retry_after)
    if status in (401, 403):
        return Fatal(f"authentication failed (HTTP {status}); check the key in {key_source}: "
                     f"{detail}", provider=provider, status=status)
    if status == 402:
        return Fatal(f"payment required (HTTP 402): {detail}", provider=provider, status=status)
    if status == 404:
        return Fatal(f"model or endpoint not found (HTTP 404); check the model name and base URL: "
                     f"{detail}", provider=provider, status=status)
    return RequestRejected(f"request rejected (HTTP {status}): {detail}", provider=provider,
                           status=status)


def translate(
    error: Exception, sdk: ModuleType, *, provider: str, key_source: str, timeout: float
) -> ProviderError | None:
    """Typed error for an exception raised by an SDK call, or ``None`` if not an SDK error."""
    if isinstance(error, sdk.APITimeoutError):
        return Unavailable(f"request timed out after {timeout:g} s", provider=provider)
    if isinstance(error, sdk.APIStatusError):
        headers = {k.lower(): v for k, v in error.response.headers.items()}
        return from_status(error.status_code, headers, str(error.message), provider=provider,
                           key_source=key_source)
    if isinstance(error, sdk.APIResponseValidationError):
        return Unavailable(f"malformed response: {_short(str(error))}", provider=provider,
                           status=error.status_code)
    if isinstance(error, sdk.APIConnectionError):
        cause = error.__cause__ or error
        return Unavailable(f"connection failed: {_short(str(cause))}", provider=provider)
    if isinstance(error, ValueError):  # the SDKs let json.JSONDecodeError through
        return Unavailable(f"malformed response: {_short(str(error))}", provider=provider)
    return None
