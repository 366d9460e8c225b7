"""HTTP requests that a :class:`~discover.providers.cancel.CancelScope` can cut at once.

A request blocked on a server that has not answered yet sits in ``recv()``;
closing its client object from another thread does not wake it, and the SDK's
timeout may be minutes away. Shutting the socket down does wake it: the read
fails at once and the server sees the client go (llama.cpp and vLLM then stop
generating). :class:`AbortableTransport` learns each request's socket from the
HTTP core's ``trace`` hook when the connection opens, and :func:`abortable`
subscribes that request's sockets to the scope for as long as the call runs.
Connections are not kept alive between requests, so every request opens (and
reports) its own: one TCP handshake per model call, negligible next to the call.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from discover.providers.cancel import CancelScope

_CURRENT: contextvars.ContextVar[_Sockets | None] = contextvars.ContextVar(
    "discover_abortable_sockets", default=None)


class _Sockets:
    """The sockets one call opened, shut down together when it is aborted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.aborted = False

    def add(self, stream: Any) -> None:
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if not self.aborted:
                self._sockets.append(sock)
                return
        _shut(sock)  # cancelled while connecting: cut it now

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked in another thread


class AbortableTransport(httpx2.BaseTransport):
    """The default HTTP transport, without keep-alive, reporting each request's socket."""

    def __init__(self) -> None:
        self._inner = httpx2.HTTPTransport(
            limits=httpx2.Limits(max_connections=None, max_keepalive_connections=0))

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request``; its socket is registered with the call in progress, if any."""
        sockets = _CURRENT.get()
        if sockets is not None:
            def trace(name: str, info: dict[str, Any]) -> None:
                if name.endswith((".connect_tcp.complete", ".connect_unix_socket.complete")):
                    sockets.add(info.get("return_value"))

            request.extensions = {**request.extensions, "trace": trace}
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the connection pool."""
        self._inner.close()


class CallGuard:
    """What :func:`abortable` yields: whether the call was cut by its own timeout."""

    def __init__(self) -> None:
        self.timed_out = False


@contextmanager
def abortable(scope: CancelScope | None, timeout: float | None = None) -> Iterator[CallGuard]:
    """Within the block, this thread's requests are shut down when ``scope`` is cancelled.

    Parameters
    ----------
    scope
        The run's cancellation, or ``None``.
    timeout
        Seconds after which the requests are shut down too (``guard.timed_out``
        is then set): a streamed answer's read timeout restarts with every
        event, so this is what bounds the whole call.
    """
    sockets = _Sockets()
    guard = CallGuard()
    token = _CURRENT.set(sockets)
    unsubscribe = scope.subscribe(sockets.abort) if scope is not None else (lambda: None)
    timer = None
    if timeout is not None:
        def expire() -> None:
            guard.timed_out = True
            sockets.abort()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
    try:
        yield guard
    finally:
        if timer is not None:
            timer.cancel()
        unsubscribe()
        _CURRENT.reset(token)
