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

The format is in :mod:`sandbox.frames`, the child's encoder in
:mod:`sandbox.encoding` and the trusted side's decoder in :mod:`sandbox.decoding`;
this module gathers their public names.
"""

from __future__ import annotations

from sandbox.decoding import (
    ChildReport,
    DecodeBudget,
    as_index,
    as_seconds,
    as_text,
    check_value,
    json_body,
    parse_report,
    stream_budget,
)
from sandbox.encoding import Unsendable, encode_value, output_frame
from sandbox.frames import (
    BODY_COMMAS,
    HEADER,
    LIST_WEIGHT,
    MAX_DEPTH,
    MAX_STRING,
    MEMORY_FRAME,
    ChannelError,
    ErrorKind,
    FrameKind,
    RawOutput,
    frame,
    iter_frames,
)

__all__ = [
    "BODY_COMMAS",
    "HEADER",
    "LIST_WEIGHT",
    "MAX_DEPTH",
    "MAX_STRING",
    "MEMORY_FRAME",
    "ChannelError",
    "ChildReport",
    "DecodeBudget",
    "ErrorKind",
    "FrameKind",
    "RawOutput",
    "Unsendable",
    "as_index",
    "as_seconds",
    "as_text",
    "check_value",
    "encode_value",
    "frame",
    "iter_frames",
    "json_body",
    "output_frame",
    "parse_report",
    "stream_budget",
]
