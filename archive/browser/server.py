"""Serve a :class:`~archive.browser.app.BrowserApp` with the standard library's HTTP server.

``ThreadingHTTPServer`` is enough for one user's browser and needs no
dependency. When bound to a loopback address the server also checks the
``Host`` header, so a web page elsewhere cannot reach it through DNS
rebinding (a hostile name resolving to 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from archive.browser.app import SECURITY_HEADERS, BrowserApp, Response

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BrowserServer(ThreadingHTTPServer):
    """A threading HTTP server holding the app and the Host names it answers to."""

    daemon_threads = True

    def __init__(self, app: BrowserApp, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        super().__init__((host.strip("[]"), port), _Handler)
        self.allowed_hosts = self._allowed(host, self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        """A browser dropping a connection is routine; anything else goes to the log.

        (The default prints a traceback to stderr from the request thread.)
        """
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("connection from %s dropped: %s", client_address, error)
            return
        log.error("error serving %s", client_address, exc_info=True)

    @staticmethod
    def _allowed(host: str, port: int) -> frozenset[str] | None:
        if not is_loopback(host):
            return None  # exposed on purpose: any Host the network routes here
        names = {"localhost", "127.0.0.1", "[::1]", host if ":" not in host
                 else f"[{host.strip('[]')}]"}
        return frozenset({f"{n}:{port}" for n in names} | names)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: BrowserServer
    server_version = "discover-browser"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _host_ok(self) -> bool:
        allowed = self.server.allowed_hosts
        return allowed is None or (self.headers.get("Host") or "").lower() in allowed

    def _send(self, response: Response, *, head: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in (*SECURITY_HEADERS, *response.headers):
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _plain(self, status: int, text: str) -> Response:
        return Response(status, "text/plain; charset=utf-8", text.encode("utf-8"))

    def _dispatch(self, method: str) -> None:
        if not self._host_ok():
            self._send(self._plain(421, "unexpected Host header; open the URL the server printed"))
            return
        form = None
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_FORM_BYTES:
                self._send(self._plain(413, "form too large"))
                return
            body = self.rfile.read(length).decode("utf-8", "replace")
            form = parse_qs(body, keep_blank_values=True)
        self._send(self.server.app.handle(method, self.path, form), head=method == "HEAD")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")


def make_server(app: BrowserApp, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
                ) -> BrowserServer:
    """Bind a server for ``app`` (``port=0`` picks a free port); call ``serve_forever``."""
    return BrowserServer(app, host, port)
