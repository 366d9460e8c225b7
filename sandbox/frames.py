"""The frame format of the result channel, shared by the child and the trusted side.

A frame is a one-byte :class:`FrameKind`, a four-byte little-endian body length
and a body (see :mod:`sandbox.channel` for the design). The child writes frames
with :mod:`sandbox.encoding`; the trusted side reads them with
:mod:`sandbox.decoding`.
"""

from __future__ import annotations

import enum
import json
import struct
from collections.abc import Iterator
from typing import Any

HEADER = struct.Struct("<BI")
MAX_DEPTH = 3
MAX_STRING = 200

FLAT_TYPES = frozenset({int, float, bool, type(None)})
"""Types of the values of a flat list that crosses as it is (no per-value check)."""
PACKED_HEAD = struct.Struct("<Id")
"""Head of an ``INTS``/``FLOATS`` body: the payload index and the seconds it took."""
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


class ChannelError(ValueError):
    """The byte stream is not a well-formed sequence of frames."""


def frame(kind: FrameKind, body: dict[str, Any] | None = None) -> bytes:
    """Encode one frame."""
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return HEADER.pack(kind, len(data)) + data


MEMORY_FRAME = frame(FrameKind.MEMORY)


def iter_frames(data: bytes) -> Iterator[tuple[FrameKind, bytes]]:
    """Split a channel byte stream into ``(kind, raw body)`` pairs.

    Raises
    ------
    ChannelError
        On an unknown kind or a truncated frame.
    """
    for kind, begin, end in frame_spans(data):
        yield kind, data[begin:end]


def frame_spans(data: bytes) -> Iterator[tuple[FrameKind, int, int]]:
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
