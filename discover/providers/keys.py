"""API keys: read only from environment variables, never shown.

An :class:`ApiKey` hides its value from ``repr``/``str``/formatting and refuses
to be pickled, so it cannot leak into logs, exception messages, the archive or a
sandbox child by accident. Only the SDK client constructor sees
:meth:`ApiKey.reveal`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

from discover.providers.base import MissingApiKey

# Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the OpenAI SDK insists on one.
DUMMY_KEY = "not-needed"


class ApiKey:
    """An API key whose value is only available through :meth:`reveal`.

    Parameters
    ----------
    value
        The secret.
    source
        Where it came from (the variable's name), safe to show.
    """

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        """The secret itself, for the SDK client only."""
        return self._value

    @property
    def is_dummy(self) -> bool:
        """Whether this is the placeholder used for servers that need no key."""
        return self._value == DUMMY_KEY and self.source == "none"

    def __repr__(self) -> str:
        return f"ApiKey(source={self.source!r}, value=<redacted>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("API keys cannot be pickled (they must never leave this process)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash((ApiKey, self._value))


def resolve_api_key(
    variable: str | None, *, required: bool, environ: Mapping[str, str] | None = None
) -> ApiKey:
    """Read an API key from an environment variable.

    Parameters
    ----------
    variable
        The variable's name; ``None`` means "no key configured".
    required
        Whether a missing key is an error (hosted APIs) or replaced by a dummy
        key (local OpenAI-compatible servers).
    environ
        The environment to read (``os.environ`` by default; tests pass their own).

    Raises
    ------
    MissingApiKey
        When the key is required and the variable is unset or empty; the message
        names the variable.
    """
    env = os.environ if environ is None else environ
    if variable is not None:
        value = env.get(variable, "").strip()
        if value:
            return ApiKey(value, variable)
        # A variable that was named (by default or in the config) must hold a key.
        raise MissingApiKey(
            f"environment variable {variable} is not set (or empty); export it with your API "
            "key, name another variable with llm.api_key_env, or use --model offline"
        )
    if required:
        raise MissingApiKey("no environment variable is configured for the API key")
    return ApiKey(DUMMY_KEY, "none")
