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

Decoding is bounded before anything is materialised: the brackets, commas and
colons of every JSON body are counted in place (at C speed, no copy) and the
body is refused when it holds more values than the child's encoder would ever
send for one output, or when the containers and values of the whole stream
would exceed its decoding budget (see :class:`DecodeBudget`; a list weighs
:data:`LIST_WEIGHT` values, as it costs that much more memory; the encoder
charges nested lists the same way). A forged stream of ``[[],[],...]`` is
therefore rejected without being decoded. Every text field is passed through
:func:`sandbox.text.storable`, so no lone surrogate or NUL reaches the trusted
side, and the kind of a failure that blames the sandbox (``setup``) is only
believed before the trusted child code has announced the candidate's start.
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

from sandbox.text import storable

HEADER = struct.Struct("<BI")
MAX_DEPTH = 3
MAX_STRING = 200

_FLAT_TYPES = frozenset({int, float, bool, type(None)})
_INT = frozenset({int})
_FLOAT = frozenset({float})
_INTS_HEAD = struct.Struct("<Id")
_ENCODER = json.JSONEncoder(separators=(",", ":"))
LIST_WEIGHT = 8
"""Decoding cost of one list, in values: a list object is ~8 pointers' worth of memory."""
BODY_COMMAS = 4
"""Commas a JSON frame body may hold outside its lists (between its object's keys)."""

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
    #                      (step_limit: {"i": index, "kind": "step_limit", "s": batch's count})
    MEMORY = ord("M")    # body: {} (pre-encoded: writable without allocating)
    DONE = ord("D")      # body: {}
    STEPS = ord("C")     # body: {"i": index, "s": count} (after output i, when counting)


class ErrorKind(enum.Enum):
    """What kind of failure an ERROR frame reports."""

    EXCEPTION = "exception"
    FORBIDDEN = "forbidden"
    MEMORY = "memory"
    SETUP = "setup"
    STEP_LIMIT = "step_limit"
    """The batch's step count passed the job's limit (:class:`sandbox.steps.StepCounter`)."""


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


def iter_frames(data: bytes) -> Iterator[tuple[FrameKind, bytes]]:
    """Split a channel byte stream into ``(kind, raw body)`` pairs.

    Raises
    ------
    ChannelError
        On an unknown kind or a truncated frame.
    """
    for kind, begin, end in _frame_spans(data):
        yield kind, data[begin:end]


def _frame_spans(data: bytes) -> Iterator[tuple[FrameKind, int, int]]:
    """``(kind, body start, body end)`` of every frame, without copying bodies."""
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
        yield kind, pos, pos + length
        pos += length


class DecodeBudget:
    """What a stream may still decode: values per body, and list-weighted values in all.

    Parameters
    ----------
    max_items
        The child's cap on the values in one output (``Limits.max_output_items``):
        no honest body holds more.
    total
        Budget of the whole stream, in values (a list weighs :data:`LIST_WEIGHT`);
        defaults to twice ``max_items``. The pool adds the size of the batch's
        payloads (see :func:`stream_budget`): results are about as large as
        their inputs, and the candidate cannot choose those.
    """

    def __init__(self, max_items: int, total: int | None = None) -> None:
        if max_items < 1:
            raise ValueError("max_items must be positive")
        self.max_items = max_items
        self.left = 2 * max_items if total is None else total

    def charge(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        """Count the containers and values of a JSON body without decoding or copying it.

        The body is ``data[start:end]``. Every ``[`` or ``{`` opens a container,
        and every value (or object member) is followed by a ``,`` or closes its
        container, so commas, colons and containers bound what decoding creates.
        Characters inside strings are counted too: an overestimate that only
        matters for text full of brackets, which no valid output is.

        Raises
        ------
        ChannelError
            When the body holds more values than one output may, or more than the
            stream has left to decode.
        """
        end = len(data) if end is None else end
        commas = data.count(b",", start, end)
        if commas - BODY_COMMAS > self.max_items:
            raise ChannelError(f"frame body holds more than {self.max_items} values")
        containers = data.count(b"[", start, end) + data.count(b"{", start, end)
        values = commas + data.count(b":", start, end) + containers
        cost = values + LIST_WEIGHT * containers
        if cost > self.left:
            raise ChannelError(f"result stream too large to decode ({containers} lists, "
                               f"about {values} values)")
        self.left -= cost


def stream_budget(max_items: int, payload_bytes: int) -> int:
    """The decoding budget of a batch: twice one output's cap, plus the payloads' size.

    A batch of honest results holds about as many values as its payloads (a
    schedule per instance), and every payload value takes at least a byte.
    """
    return 2 * max_items + payload_bytes


def json_body(raw: bytes, budget: DecodeBudget | None = None) -> dict[str, Any]:
    """Decode a JSON frame body (empty means ``{}``), first charged to ``budget``."""
    if not raw:
        return {}
    if budget is not None:
        budget.charge(raw)
    return _decode_json(raw)


def _json_span(data: bytes, start: int, end: int, budget: DecodeBudget) -> dict[str, Any]:
    """The JSON body ``data[start:end]``, charged to ``budget`` before it is copied."""
    if start == end:
        return {}
    budget.charge(data, start, end)
    return _decode_json(data[start:end])


def _decode_json(raw: bytes) -> dict[str, Any]:
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


def _packed_body(raw: bytes, typecode: str, max_items: int | None = None
                 ) -> tuple[int, float, list[Any]]:
    if len(raw) < _INTS_HEAD.size or (len(raw) - _INTS_HEAD.size) % 8:
        raise ChannelError("malformed packed frame")
    if max_items is not None and (len(raw) - _INTS_HEAD.size) // 8 > max_items:
        raise ChannelError(f"packed frame holds more than {max_items} values")
    index, seconds = _INTS_HEAD.unpack_from(raw)
    values = array.array(typecode)
    values.frombytes(raw[_INTS_HEAD.size:])
    if sys.byteorder != "little":
        values.byteswap()
    return index, seconds, values.tolist()


def check_value(value: object, depth: int = 0) -> RawOutput:
    """Check that a decoded value fits the raw-output schema.

    Returns the value, with every string made :func:`~sandbox.text.storable`.

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
        return storable(value)
    if type(value) is list:
        if depth >= MAX_DEPTH:
            raise ChannelError("lists nested too deep")
        if set(map(type, value)) <= _FLAT_TYPES:  # fast path: a flat list of numbers
            return value
        return [check_value(v, depth + 1) for v in value]
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
    """A short text field from a frame body, made :func:`~sandbox.text.storable`."""
    if type(value) is not str:
        raise ChannelError(f"expected text, got {type(value).__name__}")
    return storable(value[:limit])


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
    steps: tuple[int, ...] = ()
    """Per finished payload, the candidate's steps (only when the job
    asked for them: see :class:`sandbox.steps.StepCounter`)."""

    def __post_init__(self) -> None:
        if len(self.outputs) != len(self.seconds):
            raise ValueError("outputs and seconds differ in length")
        if len(self.steps) > len(self.outputs):
            raise ValueError("more step counts than outputs")


def parse_report(data: bytes, n_payloads: int, max_items: int = 1_000_000,
                 decode_budget: int | None = None, step_limit: int | None = None
                 ) -> ChildReport:
    """Decode a whole channel stream into a :class:`ChildReport`.

    Outputs must arrive in payload order (0, 1, 2, ...); anything else means
    the stream was tampered with. ``max_items`` is the child's cap on the values
    of one output (``Limits.max_output_items``); with ``decode_budget`` (the
    whole stream's, in values) it bounds what is decoded (see
    :class:`DecodeBudget`). A ``setup`` error is only accepted before the
    ``started`` frame: after it, the candidate holds the channel. A
    ``step_limit`` error is only accepted from a job with ``step_limit``, and
    must be consistent with it (see :func:`_step_limit_count`); its count is
    the error's ``"steps"``.

    Raises
    ------
    ChannelError
        When the stream is malformed or out of order.
    """
    started = done = memory = False
    budget = DecodeBudget(max_items, decode_budget)
    outputs: list[RawOutput] = []
    seconds: list[float] = []
    steps: list[int] = []
    unsendable: tuple[int, str] | None = None
    error: dict[str, Any] | None = None
    for kind, begin, end in _frame_spans(data):
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
                raw_index, raw_seconds, value = _packed_body(data[begin:end], typecode,
                                                             max_items)
            else:
                body = _json_span(data, begin, end, budget)
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
        elif kind is FrameKind.STEPS:
            body = _json_span(data, begin, end, budget)
            if as_index(body.get("i"), n_payloads) != len(steps) or len(steps) >= len(outputs):
                raise ChannelError("step count out of order")
            count = body.get("s")
            if type(count) is not int or count < 0:
                raise ChannelError("step count is not a non-negative integer")
            steps.append(count)
        elif kind is FrameKind.ERROR:
            body = _json_span(data, begin, end, budget)
            if error is not None:
                raise ChannelError("more than one error frame")
            kind_text = as_text(body.get("kind"))
            try:
                error_kind = ErrorKind(kind_text)
            except ValueError:
                raise ChannelError(f"unknown error kind {kind_text!r}") from None
            if error_kind is ErrorKind.SETUP and started:
                # The trusted code reports setup failures before it announces the
                # start; after that, only the candidate can write such a frame.
                raise ChannelError("a setup failure reported after the candidate started")
            tb = body.get("tb", [])
            if type(tb) is not list:
                raise ChannelError("traceback is not a list")
            error = {
                "index": as_index(body.get("i"), n_payloads),
                "kind": error_kind,
                "type": as_text(body.get("type", ""), 200),
                "msg": as_text(body.get("msg", "")),
                "tb": tuple(as_text(line, 500) for line in tb[-20:]),
            }
            if error_kind is ErrorKind.STEP_LIMIT:
                error["steps"] = _step_limit_count(body, error["index"], step_limit, outputs,
                                                   steps, unsendable)
    if done and len(outputs) != n_payloads and unsendable is None and error is None:
        raise ChannelError(f"end marker after {len(outputs)} of {n_payloads} outputs")
    return ChildReport(started, done, tuple(outputs), tuple(seconds), unsendable, error, memory,
                       tuple(steps))


def _step_limit_count(body: dict[str, Any], index: int, limit: int | None,
                      outputs: list[RawOutput], steps: list[int],
                      unsendable: tuple[int, str] | None) -> int:
    """The count of a ``step_limit`` error, checked against what the stream said before.

    The child stops in the payload after the last one it finished, each finished
    one followed by its count, and only once the batch's count passes the job's
    limit: not before the finished payloads' counts do.
    """
    if limit is None:
        raise ChannelError("step-limit error from a job without a step limit")
    count = body.get("s")
    if type(count) is not int or count <= limit:
        raise ChannelError(f"step-limit error with a count {count!r} not above the "
                           f"limit {limit}")
    if index != len(outputs) or len(steps) != len(outputs) or unsendable is not None:
        raise ChannelError(f"step-limit error out of order (payload {index})")
    if sum(steps) > limit:
        raise ChannelError("step-limit error after the counts had passed the limit")
    return count
