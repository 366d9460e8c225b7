"""One model behind the Anthropic messages API.

A single attempt per call (see :mod:`discover.providers.managed` for retries);
the SDK's own retries are disabled (``max_retries=0``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anthropic

from discover.providers.base import Completion, FinishReason, ProviderError, Unavailable
from discover.providers.keys import ApiKey
from discover.providers.sdk_errors import translate
from sandbox.text import storable

log = logging.getLogger(__name__)

_FINISH = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_USE,
    "refusal": FinishReason.CONTENT_FILTER,
}


class AnthropicProvider:
    """Messages through the official ``anthropic`` SDK.

    Parameters
    ----------
    name
        The provider spec, for records (``"anthropic:claude-sonnet-4-5"``).
    model
        The model to request.
    api_key
        The key.
    base_url
        Another endpoint (proxy, gateway), or ``None`` for Anthropic's.
    timeout
        Seconds before one request is abandoned.
    """

    def __init__(
        self,
        name: str,
        model: str,
        api_key: ApiKey,
        *,
        base_url: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._name = name
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self._key_source = api_key.source
        self._client = anthropic.Anthropic(
            api_key=api_key.reveal(), base_url=base_url, timeout=timeout, max_retries=0
        )

    @property
    def name(self) -> str:
        """The provider spec."""
        return self._name

    def __repr__(self) -> str:
        return (f"AnthropicProvider(name={self._name!r}, base_url={self.base_url!r}, "
                f"timeout={self.timeout}, key_source={self._key_source!r})")

    def complete(
        self, system: str, user: str, *, max_tokens: int, temperature: float | None = None,
        timeout: float | None = None,
    ) -> Completion:
        """Send one messages request; see :class:`discover.providers.base.Provider`.

        The current SDK no longer exposes ``temperature``; when one is given it is
        sent in the request body, which the API still accepts for most models.
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": user}],
        }
        if temperature is not None:
            kwargs["extra_body"] = {"temperature": temperature}
        if timeout is not None:  # shorter than the client's: the run's time limit is near
            kwargs["timeout"] = timeout
        start = time.monotonic()
        try:
            message = self._client.messages.create(**kwargs)
        except Exception as error:
            typed: ProviderError | None = translate(
                error, anthropic, provider=self._name, key_source=self._key_source,
                timeout=self.timeout,
            )
            if typed is None:
                raise
            raise typed from error
        latency = time.monotonic() - start
        content = getattr(message, "content", None)
        usage = getattr(message, "usage", None)
        if content is None or usage is None:
            raise Unavailable("malformed response: no content or usage", provider=self._name)
        text = "".join(
            getattr(block, "text", "") for block in content if getattr(block, "type", "") == "text"
        )
        tokens_in = sum(
            int(getattr(usage, field, 0) or 0)
            for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        return Completion(
            text=storable(text),
            model=str(message.model or self.model),
            provider=self._name,
            tokens_in=tokens_in,
            tokens_out=int(usage.output_tokens or 0),
            cost=None,
            latency=latency,
            finish_reason=_FINISH.get(str(message.stop_reason), FinishReason.OTHER),
        )
