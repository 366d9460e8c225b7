"""One model behind the OpenAI chat completions API (or a compatible server).

A single attempt per call: retries, budgets and the circuit breaker live in
:class:`discover.providers.managed.ManagedProvider`, and the SDK's own retries are
disabled (``max_retries=0``) so that only that policy is in force.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import openai

from discover.providers.base import Completion, FinishReason, ProviderError, Unavailable
from discover.providers.keys import ApiKey
from discover.providers.sdk_errors import translate
from sandbox.text import storable

log = logging.getLogger(__name__)

_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
    "tool_calls": FinishReason.TOOL_USE,
    "function_call": FinishReason.TOOL_USE,
}


class OpenAIProvider:
    """Chat completions through the official ``openai`` SDK.

    Parameters
    ----------
    name
        The provider spec, for records (``"openai:gpt-4o-mini"``).
    model
        The model to request.
    api_key
        The key (a dummy one for local servers that need none).
    base_url
        Another endpoint (local server, proxy, gateway), or ``None`` for OpenAI's.
    timeout
        Seconds before one request is abandoned.
    legacy_max_tokens
        Send ``max_tokens`` instead of ``max_completion_tokens``: OpenAI's newer
        models reject the former, many compatible servers only know it.
    """

    def __init__(
        self,
        name: str,
        model: str,
        api_key: ApiKey,
        *,
        base_url: str | None = None,
        timeout: float = 120.0,
        legacy_max_tokens: bool = False,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._name = name
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.legacy_max_tokens = legacy_max_tokens
        self._key_source = api_key.source
        self._client = openai.OpenAI(
            api_key=api_key.reveal(), base_url=base_url, timeout=timeout, max_retries=0
        )
        self._warned_usage = False

    @property
    def name(self) -> str:
        """The provider spec."""
        return self._name

    def __repr__(self) -> str:
        return (f"OpenAIProvider(name={self._name!r}, base_url={self.base_url!r}, "
                f"timeout={self.timeout}, key_source={self._key_source!r})")

    def _error(self, error: Exception) -> ProviderError | None:
        return translate(error, openai, provider=self._name, key_source=self._key_source,
                         timeout=self.timeout)

    def complete(
        self, system: str, user: str, *, max_tokens: int, temperature: float | None = None,
        timeout: float | None = None,
    ) -> Completion:
        """Send one chat completion request; see :class:`discover.providers.base.Provider`."""
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            ("max_tokens" if self.legacy_max_tokens else "max_completion_tokens"): max_tokens,
        }
        if temperature is not None:
            kwargs["temperature"] = temperature
        if timeout is not None:  # shorter than the client's: the run's time limit is near
            kwargs["timeout"] = timeout
        start = time.monotonic()
        try:
            response = self._client.chat.completions.create(**kwargs)
        except Exception as error:
            typed = self._error(error)
            if typed is None:
                raise
            raise typed from error
        latency = time.monotonic() - start
        choices = getattr(response, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise Unavailable("malformed response: no choices", provider=self._name)
        choice = choices[0]
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        if usage is None and not self._warned_usage:
            self._warned_usage = True
            log.warning("%s reports no token usage: tokens are counted as 0", self._name)
        return Completion(
            text=storable(choice.message.content or ""),
            model=str(response.model or self.model),
            provider=self._name,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=None,
            latency=latency,
            finish_reason=_FINISH.get(str(choice.finish_reason), FinishReason.OTHER),
        )
