"""The trusted side of the result channel: a hostile byte stream into a checked report.

Nothing is executed, unpickled or ``eval``-ed; JSON bodies are charged to a
:class:`DecodeBudget` before they are decoded, every value is checked against the
raw-output schema and every text made storable (see :mod:`sandbox.channel`).
"""

from __future__ import annotations

import array
import json
import math
import sys
from dataclasses import dataclass
from typing import Any

from sandbox.frames import (
    BODY_COMMAS,
    FLAT_TYPES,
    LIST_WEIGHT,
    MAX_DEPTH,
    MAX_STRING,
    PACKED_HEAD,
    ChannelError,
    ErrorKind,
    FrameKind,
    RawOutput,
    frame_spans,
)
from sandbox.text import storable


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


def _packed_body(raw: bytes, typecode: str, max_items: int | None = None
                 ) -> tuple[int, float, list[Any]]:
    if len(raw) < PACKED_HEAD.size or (len(raw) - PACKED_HEAD.size) % 8:
        raise ChannelError("malformed packed frame")
    if max_items is not None and (len(raw) - PACKED_HEAD.size) // 8 > max_items:
        raise ChannelError(f"packed frame holds more than {max_items} values")
    index, seconds = PACKED_HEAD.unpack_from(raw)
    values = array.array(typecode)
    values.frombytes(raw[PACKED_HEAD.size:])
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
        if set(map(type, value)) <= FLAT_TYPES:  # fast path: a flat list of numbers
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
    for kind, begin, end in frame_spans(data):
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
