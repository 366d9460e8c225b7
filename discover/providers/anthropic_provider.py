"""One model behind the Anthropic messages API.

A single attempt per call (see :mod:`discover.providers.managed` for retries);
the SDK's own retries are disabled (``max_retries=0``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anthropic

from discover.providers.abortable import AbortableTransport, abortable
from discover.providers.base import (
    Cancelled,
    Completion,
    FinishReason,
    PartialUsage,
    ProviderError,
    Unavailable,
)
from discover.providers.cancel import CancelScope
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
            api_key=api_key.reveal(), base_url=base_url, timeout=timeout, max_retries=0,
            http_client=anthropic.DefaultHttpxClient(transport=AbortableTransport()),
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
        timeout: float | None = None, cancel: CancelScope | None = None,
    ) -> Completion:
        """Send one messages request; see :class:`discover.providers.base.Provider`.

        The answer is streamed, so that a request cut by ``cancel`` still knows its
        tokens (the prompt's, reported by ``message_start``; the answer's so far):
        it raises :class:`Cancelled` carrying them. ``timeout`` bounds the whole
        request (default: the provider's). The current SDK no longer exposes
        ``temperature``; when one is given it is sent in the request body, which
        the API still accepts for most models.
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": user}],
            "stream": True,
        }
        if temperature is not None:
            kwargs["extra_body"] = {"temperature": temperature}
        limit = self.timeout if timeout is None else min(timeout, self.timeout)
        kwargs["timeout"] = limit
        got = _Streamed()
        start = time.monotonic()
        try:
            with abortable(cancel, limit) as guard:
                for event in self._client.messages.create(**kwargs):
                    got.take(event)
        except Exception as error:
            if cancel is not None and cancel.cancelled:
                raise self._cut(cancel, got, start) from error
            if guard.timed_out:
                raise Unavailable(f"request timed out after {limit:g} s",
                                  provider=self._name) from error
            typed: ProviderError | None = translate(
                error, anthropic, provider=self._name, key_source=self._key_source,
                timeout=self.timeout,
            )
            if typed is None:
                raise
            raise typed from error
        latency = time.monotonic() - start
        if not got.stopped and cancel is not None and cancel.cancelled:
            raise self._cut(cancel, got, start)  # the stream just stopped
        if not got.started or got.tokens_in is None:
            raise Unavailable("malformed response: no content or usage", provider=self._name)
        return Completion(
            text=storable("".join(got.text)),
            model=str(got.model or self.model),
            provider=self._name,
            tokens_in=got.tokens_in,
            tokens_out=got.tokens_out or 0,
            cost=None,
            latency=latency,
            finish_reason=_FINISH.get(str(got.stop_reason), FinishReason.OTHER),
        )

    def _cut(self, cancel: CancelScope, got: _Streamed, start: float) -> Cancelled:
        """The :class:`Cancelled` of a request cut in flight, with what it received."""
        if got.tokens_in is None:
            usage = PartialUsage(None, None, "tokens unknown: cut before the server's "
                                             "message_start event")
        elif got.stopped:
            usage = PartialUsage(got.tokens_in, got.tokens_out, "tokens reported by the server")
        else:
            # message_delta reports the answer's tokens only at the end: count the deltas.
            out = max(got.deltas, got.tokens_out or 0)
            usage = PartialUsage(
                got.tokens_in, out,
                f"{got.tokens_in} prompt tokens reported by the server, {out} answer tokens "
                "counted as received text deltas")
        return Cancelled(f"cancelled: {cancel.reason} after {time.monotonic() - start:.1f} s "
                         f"in flight ({usage.basis})", provider=self._name, usage=usage)


class _Streamed:
    """What a streamed message delivered so far (the raw server-sent events)."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.deltas = 0
        self.started = False
        self.stopped = False
        self.model: str | None = None
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.stop_reason: str | None = None

    def take(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "message_start":
            message = event.message
            self.started = True
            self.model = getattr(message, "model", None)
            usage = getattr(message, "usage", None)
            if usage is not None:
                self.tokens_in = sum(int(getattr(usage, field, 0) or 0) for field in (
                    "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
                self.tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
        elif kind == "content_block_delta":
            text = getattr(event.delta, "text", None)
            if getattr(event.delta, "type", "") == "text_delta" and text:
                self.text.append(text)
                self.deltas += 1
        elif kind == "message_delta":
            self.stop_reason = getattr(event.delta, "stop_reason", None) or self.stop_reason
            usage = getattr(event, "usage", None)
            if usage is not None and getattr(usage, "output_tokens", None) is not None:
                self.tokens_out = int(usage.output_tokens)
        elif kind == "message_stop":
            self.stopped = True
