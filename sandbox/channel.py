"""The fixed-format result channel from a candidate child to the trusted side.

The child writes a stream of *frames*; the trusted side parses them back. A
frame is a one-byte kind, a four-byte little-endian body length and a body.
Bodies are UTF-8 JSON, restricted to a small schema that the decoder checks
element by element; nothing on this channel is ever executed, unpickled or
``eval``-ed, and its total size is capped by the supervisor before decoding.

The child is untrusted: it can write any bytes to the channel (a candidate can
find the descriptor), so the decoder treats the stream as hostile input. Forged
frames gain a candidate nothing it could not get by returning values: the
trusted side validates every output and computes the objective itself.

Bodies are UTF-8 JSON objects, except for the common cases of a flat list of
plain ints or of plain floats, which travel packed as little-endian int64 or
float64 (``INTS``/``FLOATS`` frames): JSON would cost ten times more to produce
and parse.

Values that may cross (a *raw output*): ``None``, ``bool``, ``int``, ``float``
(including ``nan`` and ``±inf``), ``str`` (truncated) and lists of these nested
at most :data:`MAX_DEPTH` deep. The child's encoder turns tuples, numpy arrays
and numpy scalars into these, reads ``int``/``float`` subclasses through the
base type (so an overridden ``__eq__``, ``__repr__`` or ``__float__`` has no
effect), and reports anything else as *unsendable* with the offending type.
"""

from __future__ import annotations

import array
import contextlib
import enum
import json
import math
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HEADER = struct.Struct("<BI")
MAX_DEPTH = 3
MAX_STRING = 200

_FLAT_TYPES = frozenset({int, float, bool, type(None)})
_INT = frozenset({int})
_FLOAT = frozenset({float})
_INTS_HEAD = struct.Struct("<Id")
_ENCODER = json.JSONEncoder(separators=(",", ":"))

RawOutput = Any
"""A decoded raw output: None, bool, int, float, str or nested lists of these."""


class FrameKind(enum.IntEnum):
    """Frame types on the child's channel."""

    STARTED = ord("S")   # setup done; body: {}
    OUTPUT = ord("O")    # body: {"i": index, "t": seconds, "v": value}
    INTS = ord("I")      # body: u32 index, f64 seconds, int64 values (a flat list of ints)
    FLOATS = ord("F")    # body: u32 index, f64 seconds, float64 values (a flat list of floats)
    UNSENDABLE = ord("U")  # body: {"i": index, "t": seconds, "why": text}
    ERROR = ord("E")     # body: {"i": index or -1, "kind": ErrorKind, "type", "msg", "tb"}
    MEMORY = ord("M")    # body: {} (pre-encoded: writable without allocating)
    DONE = ord("D")      # body: {}


class ErrorKind(enum.Enum):
    """What kind of failure an ERROR frame reports."""

    EXCEPTION = "exception"
    FORBIDDEN = "forbidden"
    MEMORY = "memory"
    SETUP = "setup"


class Unsendable(Exception):
    """The candidate returned something that cannot cross the channel."""


class ChannelError(ValueError):
    """The byte stream is not a well-formed sequence of frames."""


def frame(kind: FrameKind, body: dict[str, Any] | None = None) -> bytes:
    """Encode one frame."""
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return HEADER.pack(kind, len(data)) + data


MEMORY_FRAME = frame(FrameKind.MEMORY)


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
    if type(value) is list and len(value) <= max_items and set(map(type, value)) <= _FLAT_TYPES:
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
            if value.size > budget[0]:
                raise Unsendable(f"{where}: more than the allowed {budget[0]} numbers")
            if value.ndim > MAX_DEPTH:
                raise Unsendable(f"{where}: array with {value.ndim} dimensions")
            budget[0] -= value.size
            return value.tolist()
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
    if isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise Unsendable(f"{where}: lists nested more than {MAX_DEPTH} deep")
        n = list.__len__(value) if isinstance(value, list) else tuple.__len__(value)
        if n > budget[0]:
            raise Unsendable(f"{where}: more than the allowed {budget[0]} items")
        budget[0] -= n
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


def iter_frames(data: bytes) -> Iterator[tuple[FrameKind, bytes]]:
    """Split a channel byte stream into ``(kind, raw body)`` pairs.

    Raises
    ------
    ChannelError
        On an unknown kind or a truncated frame.
    """
    pos = 0
    size = len(data)
    while pos < size:
        if size - pos < HEADER.size:
            raise ChannelError(f"truncated frame header at byte {pos}")
        code, length = HEADER.unpack_from(data, pos)
        pos += HEADER.size
        try:
            kind = FrameKind(code)
        except ValueError:
            raise ChannelError(f"unknown frame kind {code} at byte {pos}") from None
        if length > size - pos:
            raise ChannelError(f"frame body of {length} bytes runs past the end")
        yield kind, data[pos:pos + length]
        pos += length


def json_body(raw: bytes) -> dict[str, Any]:
    """Decode a JSON frame body (empty means ``{}``)."""
    if not raw:
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ChannelError(f"frame body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ChannelError("frame body is not a JSON object")
    return body


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
            body = _INTS_HEAD.pack(index, seconds) + packed.tobytes()
            return HEADER.pack(kind, len(body)) + body
    encoded = encode_value(value, max_items)
    try:
        text = _ENCODER.encode({"i": index, "t": seconds, "v": encoded})
    except (ValueError, RecursionError) as exc:
        raise Unsendable(f"output: {exc}") from None
    data = text.encode()
    return HEADER.pack(FrameKind.OUTPUT, len(data)) + data


def _packed_body(raw: bytes, typecode: str) -> tuple[int, float, list[Any]]:
    if len(raw) < _INTS_HEAD.size or (len(raw) - _INTS_HEAD.size) % 8:
        raise ChannelError("malformed packed frame")
    index, seconds = _INTS_HEAD.unpack_from(raw)
    values = array.array(typecode)
    values.frombytes(raw[_INTS_HEAD.size:])
    if sys.byteorder != "little":
        values.byteswap()
    return index, seconds, values.tolist()


def check_value(value: object, depth: int = 0) -> RawOutput:
    """Check that a decoded value fits the raw-output schema; return it unchanged.

    Raises
    ------
    ChannelError
        When the value has a type or nesting the channel does not allow.
    """
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int:
        return value  # json.loads already caps the digits (sys.int_info)
    if type(value) is str:
        if len(value) > MAX_STRING:
            raise ChannelError("string too long")
        return value
    if type(value) is list:
        if depth >= MAX_DEPTH:
            raise ChannelError("lists nested too deep")
        if set(map(type, value)) <= _FLAT_TYPES:  # fast path: a flat list of numbers
            return value
        for v in value:
            check_value(v, depth + 1)
        return value
    raise ChannelError(f"value of type {type(value).__name__} not allowed")


def as_index(value: object, n: int) -> int:
    """A payload index from a frame body, checked against ``0..n-1`` (or -1)."""
    if type(value) is not int or not -1 <= value < n:
        raise ChannelError(f"bad payload index {value!r}")
    return value


def as_seconds(value: object) -> float:
    """A duration from a frame body (child-measured, informational)."""
    if type(value) not in (int, float):
        raise ChannelError(f"bad duration {value!r}")
    seconds = float(value)  # type: ignore[arg-type]
    if not math.isfinite(seconds) or seconds < 0:
        raise ChannelError(f"bad duration {value!r}")
    return seconds


def as_text(value: object, limit: int = 2000) -> str:
    """A short text field from a frame body."""
    if type(value) is not str:
        raise ChannelError(f"expected text, got {type(value).__name__}")
    return value[:limit]


@dataclass(frozen=True)
class ChildReport:
    """Everything the channel said, parsed and checked.

    ``outputs`` and ``seconds`` cover the payloads the child finished, in order.
    """

    started: bool
    done: bool
    outputs: tuple[RawOutput, ...]
    seconds: tuple[float, ...]
    unsendable: tuple[int, str] | None
    error: dict[str, Any] | None
    memory: bool

    def __post_init__(self) -> None:
        if len(self.outputs) != len(self.seconds):
            raise ValueError("outputs and seconds differ in length")


def parse_report(data: bytes, n_payloads: int) -> ChildReport:
    """Decode a whole channel stream into a :class:`ChildReport`.

    Outputs must arrive in payload order (0, 1, 2, ...); anything else means
    the stream was tampered with.

    Raises
    ------
    ChannelError
        When the stream is malformed or out of order.
    """
    started = done = memory = False
    outputs: list[RawOutput] = []
    seconds: list[float] = []
    unsendable: tuple[int, str] | None = None
    error: dict[str, Any] | None = None
    for kind, raw in iter_frames(data):
        if done:
            raise ChannelError("frames after the end marker")
        if kind is FrameKind.STARTED:
            started = True
        elif kind is FrameKind.DONE:
            done = True
        elif kind is FrameKind.MEMORY:
            memory = True
        elif kind in (FrameKind.OUTPUT, FrameKind.UNSENDABLE, FrameKind.INTS,
                      FrameKind.FLOATS):
            raw_index: object
            raw_seconds: object
            value: RawOutput = None
            if kind in (FrameKind.INTS, FrameKind.FLOATS):
                typecode = "q" if kind is FrameKind.INTS else "d"
                raw_index, raw_seconds, value = _packed_body(raw, typecode)
            else:
                body = json_body(raw)
                raw_index, raw_seconds = body.get("i"), body.get("t")
            index = as_index(raw_index, n_payloads)
            if index != len(outputs) or unsendable is not None:
                raise ChannelError(f"output for payload {index} out of order")
            if kind is FrameKind.UNSENDABLE:
                unsendable = (index, as_text(body.get("why")))
                continue
            if kind is FrameKind.OUTPUT:
                if "v" not in body:
                    raise ChannelError("output frame without a value")
                value = check_value(body["v"])
            outputs.append(value)
            seconds.append(as_seconds(raw_seconds))
        elif kind is FrameKind.ERROR:
            body = json_body(raw)
            if error is not None:
                raise ChannelError("more than one error frame")
            kind_text = as_text(body.get("kind"))
            try:
                ErrorKind(kind_text)
            except ValueError:
                raise ChannelError(f"unknown error kind {kind_text!r}") from None
            tb = body.get("tb", [])
            if type(tb) is not list:
                raise ChannelError("traceback is not a list")
            error = {
                "index": as_index(body.get("i"), n_payloads),
                "kind": ErrorKind(kind_text),
                "type": as_text(body.get("type", ""), 200),
                "msg": as_text(body.get("msg", "")),
                "tb": tuple(as_text(line, 500) for line in tb[-20:]),
            }
    if done and len(outputs) != n_payloads and unsendable is None and error is None:
        raise ChannelError(f"end marker after {len(outputs)} of {n_payloads} outputs")
    return ChildReport(started, done, tuple(outputs), tuple(seconds), unsendable, error, memory)
