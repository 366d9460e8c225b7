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
            api_key=api_key.reveal(), base_url=base_url, timeout=timeout, max_retries=0,
            http_client=openai.DefaultHttpxClient(transport=AbortableTransport()),
        )
        self._warned_usage = False
        self._usage_option = True
        """Ask for the usage in the stream (``stream_options``) until the server refuses."""

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
        timeout: float | None = None, cancel: CancelScope | None = None,
    ) -> Completion:
        """Send one chat completion request; see :class:`discover.providers.base.Provider`.

        The answer is streamed (``stream_options.include_usage`` asks for the usage
        in a last event), so that a request cut by ``cancel`` still knows the tokens
        it received: it raises :class:`Cancelled` carrying them. ``timeout`` bounds
        the whole request (default: the provider's). A server that rejects
        ``stream_options`` with a 400 gets the request again without it, and no later
        request asks; without a usage event, tokens are estimated (prompt characters/4,
        answer stream events).
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            ("max_tokens" if self.legacy_max_tokens else "max_completion_tokens"): max_tokens,
            "stream": True,
        }
        if temperature is not None:
            kwargs["temperature"] = temperature
        limit = self.timeout if timeout is None else min(timeout, self.timeout)
        kwargs["timeout"] = limit
        start = time.monotonic()
        try:
            got = self._stream(kwargs, cancel, limit, system, user, start)
        except openai.BadRequestError as error:
            if not (self._usage_option and "stream_options" in str(error.message)):
                raise self._typed(error) from error  # a 400 always translates
            # Some compatible servers reject the option (an older vLLM or gateway): the
            # same request without it, and this provider stops asking.
            self._usage_option = False
            log.warning("%s rejects stream_options: token usage is estimated from here on",
                        self._name)
            try:
                got = self._stream(kwargs, cancel, limit, system, user, start)
            except openai.BadRequestError as again:
                raise self._typed(again) from again
        latency = time.monotonic() - start
        if got.finish is None and cancel is not None and cancel.cancelled:
            raise self._cut(cancel, got, system, user, start)  # the stream just stopped
        if not got.choices:
            raise Unavailable("malformed response: no choices", provider=self._name)
        if got.usage is not None:
            tokens_in, tokens_out = got.usage
        else:
            if not self._warned_usage:
                self._warned_usage = True
                log.warning("%s reports no token usage: prompt tokens are estimated as "
                            "characters/4, answer tokens as stream events", self._name)
            tokens_in, tokens_out = estimate_tokens(system) + estimate_tokens(user), got.events
        return Completion(
            text=storable("".join(got.text)),
            model=str(got.model or self.model),
            provider=self._name,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=None,
            latency=latency,
            finish_reason=_FINISH.get(str(got.finish), FinishReason.OTHER),
        )

    def _stream(self, kwargs: dict[str, Any], cancel: CancelScope | None, limit: float,
                system: str, user: str, start: float) -> _Streamed:
        """One streamed request; what it delivered. A 400 is raised as the SDK's
        ``BadRequestError`` (the caller may retry without ``stream_options``)."""
        if self._usage_option:
            kwargs = {**kwargs, "stream_options": {"include_usage": True}}
        got = _Streamed()
        try:
            with abortable(cancel, limit) as guard:
                for chunk in self._client.chat.completions.create(**kwargs):
                    got.take(chunk)
        except Exception as error:
            if cancel is not None and cancel.cancelled:
                raise self._cut(cancel, got, system, user, start) from error
            if guard.timed_out:
                raise Unavailable(f"request timed out after {limit:g} s",
                                  provider=self._name) from error
            if isinstance(error, openai.BadRequestError):
                raise
            typed = self._error(error)
            if typed is None:
                raise
            raise typed from error
        return got

    def _typed(self, error: openai.BadRequestError) -> ProviderError:
        typed = self._error(error)
        assert typed is not None  # an API status error always has a typed counterpart
        return typed

    def _cut(self, cancel: CancelScope, got: _Streamed, system: str, user: str,
             start: float) -> Cancelled:
        """The :class:`Cancelled` of a request cut in flight, with what it received."""
        if got.usage is not None:
            usage = PartialUsage(*got.usage, "tokens reported by the server")
        else:
            # No usage event before the cut: the server reports usage only at the end.
            prompt = estimate_tokens(system) + estimate_tokens(user)
            usage = PartialUsage(
                prompt, got.events,
                f"estimated: {prompt} prompt tokens as characters/4 of the request, "
                f"{got.events} answer tokens counted as received stream events")
        return Cancelled(f"cancelled: {cancel.reason} after {time.monotonic() - start:.1f} s "
                         f"in flight ({usage.basis})", provider=self._name, usage=usage)


def estimate_tokens(text: str) -> int:
    """A rough token count of ``text``: characters / 4 (rounded up), the usual rule of thumb."""
    return -(-len(text) // 4)


class _Streamed:
    """What a streamed chat completion delivered so far."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.events = 0
        """Events that carried answer text (servers send about one token per event)."""
        self.choices = False
        self.finish: str | None = None
        self.model: str | None = None
        self.usage: tuple[int, int] | None = None

    def take(self, chunk: Any) -> None:
        self.model = getattr(chunk, "model", None) or self.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = (int(getattr(usage, "prompt_tokens", 0) or 0),
                          int(getattr(usage, "completion_tokens", 0) or 0))
        for choice in getattr(chunk, "choices", None) or ():
            if getattr(choice, "index", 0) != 0:
                continue
            self.choices = True
            delta = getattr(choice, "delta", None)
            content = getattr(delta, "content", None) if delta is not None else None
            if content:
                self.text.append(content)
                self.events += 1
            if getattr(choice, "finish_reason", None):
                self.finish = str(choice.finish_reason)
