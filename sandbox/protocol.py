"""Messages between the orchestrator and a worker over a pair of pipes.

A message is ``<header length: u32><blob length: u32>``, a UTF-8 JSON object
(the header) and an opaque blob (payloads going down, the child's channel
bytes coming back). JSON only, never pickle: the worker sits inside the
sandbox, so what it sends is parsed as data with size caps.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from dataclasses import dataclass
from typing import Any

PREFIX = struct.Struct("<II")
MAX_HEADER = 16 * 2**20
MAX_BLOB = 1 * 2**30


class ProtocolError(RuntimeError):
    """The peer closed the pipe, timed out or sent a malformed message."""


class PeerTimeout(ProtocolError):
    """No complete message arrived before the deadline."""


@dataclass(frozen=True)
class Message:
    """One decoded message."""

    header: dict[str, Any]
    blob: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.header, dict):
            raise TypeError("header must be a dict")


def encode(header: dict[str, Any], blob: bytes = b"") -> bytes:
    """Serialise a message."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(len(head), len(blob)) + head + blob


def send(fd: int, header: dict[str, Any], blob: bytes = b"",
         deadline: float | None = None) -> None:
    """Write a whole message to ``fd``.

    With a ``deadline`` (a ``time.monotonic()`` value) the descriptor may be
    non-blocking and :class:`PeerTimeout` is raised if the peer stops reading.
    """
    data = memoryview(encode(header, blob))
    while data:
        try:
            written = os.write(fd, data)
        except BlockingIOError:
            _wait(fd, deadline, write=True)
            continue
        data = data[written:]


def _wait(fd: int, deadline: float | None, write: bool = False) -> None:
    wait = None if deadline is None else deadline - time.monotonic()
    if wait is not None and wait <= 0:
        raise PeerTimeout("timed out waiting for the peer")
    readable, writable, _ = select.select([] if write else [fd], [fd] if write else [], [],
                                          wait)
    if not readable and not writable:
        raise PeerTimeout("timed out waiting for the peer")


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    # Read into one buffer: joining chunks would hold a large blob twice.
    buffer = bytearray(n)
    view = memoryview(buffer)
    got = 0
    while got < n:
        _wait(fd, deadline)
        try:
            count = os.readv(fd, [view[got:]])
        except BlockingIOError:
            continue
        if not count:
            raise ProtocolError("peer closed the pipe")
        got += count
    view.release()
    return buffer  # type: ignore[return-value]  # bytes-like; never mutated


def receive(fd: int, deadline: float | None = None) -> Message:
    """Read one message from ``fd``.

    Parameters
    ----------
    fd
        Readable pipe end.
    deadline
        ``time.monotonic()`` value after which :class:`PeerTimeout` is raised.
    """
    head_len, blob_len = PREFIX.unpack(_read_exact(fd, PREFIX.size, deadline))
    if head_len > MAX_HEADER or blob_len > MAX_BLOB:
        raise ProtocolError(f"message too large ({head_len} + {blob_len} bytes)")
    head = _read_exact(fd, head_len, deadline)
    blob = _read_exact(fd, blob_len, deadline) if blob_len else b""
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"malformed header: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    return Message(header, blob)
