"""A local HTTP server speaking the OpenAI and Anthropic wire formats, with scripted faults.

Tests point the real ``openai`` and ``anthropic`` SDKs at it (``base_url`` on
127.0.0.1) so that the whole client stack — request building, headers, JSON
parsing, error classes, timeouts — is exercised without any network beyond the
loopback interface.

Endpoints: ``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages``
(Anthropic). A request with ``"stream": true`` is answered the way the real APIs
stream: server-sent events in a chunked response, one event per piece of text
(OpenAI: ``chat.completion.chunk`` objects, the usage in a last chunk with no
choices when ``stream_options.include_usage`` asks for it, then ``data: [DONE]``;
Anthropic: ``message_start`` with the input tokens, ``content_block_*``,
``message_delta`` with the output tokens, ``message_stop``). Each request pops
the next :class:`Step` from the script; when the script is empty the
:attr:`FakeServer.default` step answers. Every request is recorded (path,
headers, JSON body, arrival time) for assertions.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CODE_ANSWER = (
    "IDEA: modified due date.\n```python\ndef schedule(processing_times, due_dates):\n"
    "    return sorted(range(len(due_dates)), key=lambda j: due_dates[j])\n```\n"
)


@dataclass(frozen=True)
class Step:
    """What the server does for one request.

    Parameters
    ----------
    status
        HTTP status; 200 answers with a completion in the endpoint's format.
    text
        The completion text (for 200).
    tokens_in, tokens_out
        Usage reported for 200 answers.
    finish
        ``"stop"`` or ``"length"`` (mapped to each API's own names).
    headers
        Extra response headers (``Retry-After`` …).
    delay
        Seconds to wait before answering (beyond the client's timeout → timeout).
    chunk_delay
        Seconds between the streamed events of a streaming answer (a slow model);
        an answer not streamed comes after that many seconds per piece of text.
    raw_body
        Send this body verbatim instead of JSON (malformed responses).
    model
        Model name reported back; the requested one when ``None``.
    """

    status: int = 200
    text: str = CODE_ANSWER
    tokens_in: int = 120
    tokens_out: int = 45
    finish: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    raw_body: bytes | None = None
    model: str | None = None


def rate_limited(retry_after: str | None = None, retry_after_ms: str | None = None) -> Step:
    """A 429 with optional Retry-After headers."""
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return Step(status=429, headers=headers)


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: dict[str, Any]
    at: float


def _error_body(path: str, status: int) -> dict[str, Any]:
    kind = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error",
            401: "authentication_error", 400: "invalid_request_error",
            404: "not_found_error"}.get(status, "api_error")
    message = f"scripted {status}"
    if path.endswith("/messages"):
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": None, "param": None}}


def _openai_body(step: Step, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": step.model or model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": step.text, "refusal": None},
            "finish_reason": step.finish,
            "logprobs": None,
        }],
        "usage": {
            "prompt_tokens": step.tokens_in,
            "completion_tokens": step.tokens_out,
            "total_tokens": step.tokens_in + step.tokens_out,
        },
    }


def _anthropic_body(step: Step, model: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": step.model or model,
        "content": [{"type": "text", "text": step.text}],
        "stop_reason": {"stop": "end_turn", "length": "max_tokens"}.get(step.finish, step.finish),
        "stop_sequence": None,
        "usage": {"input_tokens": step.tokens_in, "output_tokens": step.tokens_out},
    }


def pieces(text: str) -> list[str]:
    """The pieces a streamed answer is sent in: words with their trailing blanks."""
    return re.findall(r"\S+\s*|\s+", text)


def _openai_events(step: Step, model: str, body: dict[str, Any]) -> list[bytes]:
    """The SSE events of a streamed chat completion, as OpenAI sends them."""
    usage_asked = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": step.model or model,
            "system_fingerprint": None}

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        out = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                    "finish_reason": finish}]}
        if usage_asked:
            out["usage"] = None
        return out

    events = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    events += [chunk({"content": piece}, None) for piece in pieces(step.text)]
    events.append(chunk({}, step.finish))
    if usage_asked:
        events.append({**base, "choices": [], "usage": {
            "prompt_tokens": step.tokens_in, "completion_tokens": step.tokens_out,
            "total_tokens": step.tokens_in + step.tokens_out}})
    return [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def _anthropic_events(step: Step, model: str) -> list[bytes]:
    """The SSE events of a streamed message, as Anthropic sends them."""
    stop = {"stop": "end_turn", "length": "max_tokens"}.get(step.finish, step.finish)
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant",
            "model": step.model or model, "content": [], "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": step.tokens_in, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": piece}})
               for piece in pieces(step.text)]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": step.tokens_out}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up are expected (a cut request shuts its socket down):
    no traceback on the test output for them; anything else is still reported."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with a script of responses.

    Use as a context manager; :attr:`openai_url` and :attr:`anthropic_url` are the
    ``base_url`` values for the two SDKs.
    """

    def __init__(self, default: Step | None = None, *,
                 rejects_stream_options: bool = False) -> None:
        self.default = default or Step()
        self.rejects_stream_options = rejects_stream_options
        """Answer a request carrying ``stream_options`` with a 400, as some compatible
        servers do (the request is recorded but takes no step from the script)."""
        self.script: deque[Step] = deque()
        self.received: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        """Most requests being handled at once (to check client concurrency limits)."""
        self.events_sent = 0
        """Streamed events written, over all requests."""
        self.disconnected = 0
        """Streamed answers the client cut (the write failed)."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        handler = self._handler_class()
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *steps: Step) -> None:
        """Queue steps for the next requests."""
        with self._lock:
            self.script.extend(steps)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wake handlers sleeping in a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self) -> Step:
        with self._lock:
            return self.script.popleft() if self.script else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                with server._lock:
                    server.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                 time.monotonic())
                    )
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer(body)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, body: dict[str, Any]) -> None:
                if not self.path.endswith(("/chat/completions", "/messages")):
                    self._send(404, json.dumps({"error": {"message": "no such path"}}).encode(), {})
                    return
                if server.rejects_stream_options and "stream_options" in body:
                    self._send(400, json.dumps({"error": {
                        "message": "Unrecognized request argument supplied: stream_options",
                        "type": "invalid_request_error", "param": "stream_options",
                        "code": None}}).encode(), {})
                    return
                step = server._next()
                if step.delay and server._stop.wait(step.delay):
                    return
                if step.raw_body is None and step.status == 200 and body.get("stream"):
                    self._stream(step, body)
                    return
                # Without streaming, an answer comes once all of it is written.
                if step.chunk_delay and server._stop.wait(
                        step.chunk_delay * len(pieces(step.text))):
                    return
                if step.raw_body is not None:
                    payload = step.raw_body
                elif step.status == 200:
                    model = str(body.get("model", "unknown"))
                    make = _anthropic_body if self.path.endswith("/messages") else _openai_body
                    payload = json.dumps(make(step, model)).encode()
                else:
                    payload = json.dumps(_error_body(self.path, step.status)).encode()
                self._send(step.status, payload, step.headers)

            def _stream(self, step: Step, body: dict[str, Any]) -> None:
                model = str(body.get("model", "unknown"))
                events = (_anthropic_events(step, model) if self.path.endswith("/messages")
                          else _openai_events(step, model, body))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Transfer-Encoding", "chunked")
                    for name, value in step.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    for k, event in enumerate(events):
                        if k and step.chunk_delay and server._stop.wait(step.chunk_delay):
                            return
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                        self.wfile.flush()
                        with server._lock:
                            server.events_sent += 1
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    with server._lock:
                        server.disconnected += 1  # the client went away mid-answer

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

        return Handler
