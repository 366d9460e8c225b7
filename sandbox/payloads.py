"""Batches of instance payloads, encoded once and cached by the workers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PayloadSet:
    """A batch of JSON payloads with a content key.

    Workers keep recent sets in memory under their key, so a search that
    evaluates thousands of candidates on the same instances sends each set to
    each worker once. Build one with :meth:`from_payloads`.

    Parameters
    ----------
    key
        Hex digest of ``blob``.
    blob
        The payloads as a UTF-8 JSON array.
    count
        Number of payloads.
    """

    key: str
    blob: bytes
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a payload set needs at least one payload")
        if hashlib.blake2b(self.blob, digest_size=16).hexdigest() != self.key:
            raise ValueError("key does not match the blob")

    @classmethod
    def from_payloads(cls, payloads: Sequence[Mapping[str, Any]]) -> PayloadSet:
        """Encode payloads (JSON objects of plain data; no NaN).

        Raises
        ------
        ValueError
            When a payload is not a mapping or not JSON-serialisable.
        """
        items = list(payloads)
        for k, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ValueError(f"payload {k} is a {type(item).__name__}, not a mapping")
        try:
            blob = json.dumps(items, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payloads must be plain JSON data: {exc}") from None
        return cls(hashlib.blake2b(blob, digest_size=16).hexdigest(), blob, len(items))
