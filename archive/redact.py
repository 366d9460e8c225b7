"""Scrub API keys from text before it is archived.

Providers sometimes echo part of a key in an error message, and a prompt or
response can quote one. The archive stores prompts, responses and errors
verbatim otherwise, so this is the one place keys are kept out.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# Key-shaped tokens: OpenAI/Anthropic style (sk-..., sk-proj-..., sk-ant-...),
# Google (AIza...), GitHub and Hugging Face tokens.
_TOKENS = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-*]{16,}|AIza[0-9A-Za-z_\-]{30,}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|hf_[A-Za-z0-9]{30,})"
)
# `api_key=...`, `"x-api-key": "..."`, `Authorization: Bearer ...`.
_ASSIGNED = re.compile(
    r"(?i)((?:api[_-]?key|x-api-key|authorization|access[_-]?token|secret[_-]?key)"
    r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)([A-Za-z0-9_\-.~+/*]{8,})"
)


def redact(text: str) -> str:
    """Return ``text`` with key-like values replaced by ``[redacted]``.

    Idempotent: ``redact(redact(t)) == redact(t)``.
    """
    text = _TOKENS.sub(REDACTED, text)
    return _ASSIGNED.sub(lambda m: m.group(1) + REDACTED, text)
