"""The child's side of the result channel: a candidate's return value into frames.

Values that may cross and how tuples, numpy values and ``int``/``float``
subclasses are read are described in :mod:`sandbox.channel`; anything else is
:class:`Unsendable`. A nested list is charged to the output's budget as the
decoder (:mod:`sandbox.decoding`) will count it.
"""

from __future__ import annotations

import array
import contextlib
import json
import math
import sys
from typing import Any

from sandbox.frames import (
    FLAT_TYPES,
    HEADER,
    LIST_WEIGHT,
    MAX_DEPTH,
    MAX_STRING,
    PACKED_HEAD,
    FrameKind,
)

_INT = frozenset({int})
_FLOAT = frozenset({float})
_ENCODER = json.JSONEncoder(separators=(",", ":"))


class Unsendable(Exception):
    """The candidate returned something that cannot cross the channel."""


def encode_value(value: object, max_items: int) -> object:
    """Convert a candidate's return value into channel-safe plain data.

    Parameters
    ----------
    value
        Whatever the harness returned.
    max_items
        Cap on the number of scalars (over all nesting levels).

    Raises
    ------
    Unsendable
        With a message naming the offending type or the size.
    """
    # Fast path for the common, well-behaved case: a flat list of plain numbers.
    if type(value) is list and len(value) <= max_items and set(map(type, value)) <= FLAT_TYPES:
        return value
    budget = [max_items]
    return _encode(value, 0, budget, "output")


def _encode(value: object, depth: int, budget: list[int], where: str) -> object:
    tp = type(value)
    if value is None or tp is bool or tp is str or tp is int or tp is float:
        if tp is str:
            return value[:MAX_STRING]  # type: ignore[index]
        return value
    if isinstance(value, int):
        return int.__int__(value)  # subclass: read the base value, ignore overrides
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)[:MAX_STRING]
    np = _numpy()
    if np is not None:
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise Unsendable(f"{where}: numpy array of dtype {value.dtype} (numbers only)")
            if depth + value.ndim > MAX_DEPTH:
                raise Unsendable(f"{where}: array with {value.ndim} dimensions "
                                 f"(lists nest at most {MAX_DEPTH} deep)")
            # Counted as the decoder counts it (see DecodeBudget): every value of
            # every list tolist() makes, plus LIST_WEIGHT per nested list.
            sizes = [math.prod(value.shape[:k]) for k in range(1, value.ndim + 1)]
            nested = sum(sizes[:-1]) + (1 if depth > 0 else 0)
            cost = max(value.size, sum(sizes) + LIST_WEIGHT * nested)
            if cost > budget[0]:
                raise Unsendable(f"{where}: more than the allowed {budget[0]} numbers")
            budget[0] -= cost
            return value.tolist()
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
    if isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise Unsendable(f"{where}: lists nested more than {MAX_DEPTH} deep")
        n = list.__len__(value) if isinstance(value, list) else tuple.__len__(value)
        cost = n + (LIST_WEIGHT if depth > 0 else 0)  # a nested list weighs like values
        if cost > budget[0]:
            raise Unsendable(f"{where}: more than the allowed {budget[0]} items")
        budget[0] -= cost
        items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return [_encode(v, depth + 1, budget, f"{where}[{k}]") for k, v in enumerate(items)]
    raise Unsendable(f"{where}: {tp.__name__} cannot be returned (numbers and lists only)")


_NUMPY: Any = None


def _numpy() -> Any:
    # numpy is pre-imported in the worker; import lazily so the trusted side
    # does not need it just to decode.
    global _NUMPY
    if _NUMPY is None:
        try:
            import numpy
        except ImportError:  # pragma: no cover - numpy is a hard dependency
            _NUMPY = False
        else:
            _NUMPY = numpy
    return _NUMPY or None


def output_frame(index: int, seconds: float, value: object, max_items: int) -> bytes:
    """Encode one payload's output (child side).

    Raises
    ------
    Unsendable
        When the value cannot cross the channel.
    """
    if type(value) is list and len(value) <= max_items:
        types = set(map(type, value))
        packed: array.array[Any] | None = None
        if types <= _INT:
            with contextlib.suppress(OverflowError):  # beyond int64: JSON keeps big ints
                packed, kind = array.array("q", value), FrameKind.INTS
        elif types == _FLOAT:
            packed, kind = array.array("d", value), FrameKind.FLOATS
        if packed is not None:
            if sys.byteorder != "little":
                packed.byteswap()
            body = PACKED_HEAD.pack(index, seconds) + packed.tobytes()
            return HEADER.pack(kind, len(body)) + body
    encoded = encode_value(value, max_items)
    try:
        text = _ENCODER.encode({"i": index, "t": seconds, "v": encoded})
    except (ValueError, RecursionError) as exc:
        raise Unsendable(f"output: {exc}") from None
    data = text.encode()
    return HEADER.pack(FrameKind.OUTPUT, len(data)) + data
