"""The HTTP layer: headers, HEAD, Host checks against DNS rebinding, form size limit."""

from __future__ import annotations

import http.client

import pytest

from archive.browser import BrowserServer
from archive.browser.server import BrowserServer as ServerClass
from archive.browser.server import is_loopback


def request(server: BrowserServer, method: str, path: str, *, host: str | None = None,
            body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    address, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(address), port, timeout=30)
    headers = {"Host": host} if host is not None else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_pages_carry_security_headers(live_server: BrowserServer) -> None:
    status, headers, body = request(live_server, "GET", "/")
    assert status == 200 and body.startswith(b"<!doctype html>")
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert int(headers["content-length"]) == len(body)


def test_head_has_no_body(live_server: BrowserServer) -> None:
    status, headers, body = request(live_server, "HEAD", "/static/style.css")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 1000


@pytest.mark.parametrize("host", ["evil.example:80", "evil.example", "127.0.0.1.nip.io:1"])
def test_foreign_host_headers_are_refused(live_server: BrowserServer, host: str) -> None:
    status, _, body = request(live_server, "GET", "/", host=host)
    assert status == 421 and b"Host" in body


def test_loopback_names_are_accepted(live_server: BrowserServer) -> None:
    port = live_server.server_address[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert request(live_server, "GET", "/", host=host)[0] == 200


def test_oversized_forms_are_refused(live_server: BrowserServer) -> None:
    status, _, _ = request(live_server, "POST", "/program/1/export", body=b"x" * 70_000)
    assert status == 413


def test_server_url_and_loopback_detection(live_server: BrowserServer) -> None:
    assert live_server.url.startswith("http://127.0.0.1:")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert ServerClass._allowed("0.0.0.0", 80) is None


def test_dropped_connections_are_not_printed(live_server: BrowserServer,
                                             capsys: pytest.CaptureFixture[str],
                                             caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError:
        live_server.handle_error(None, ("127.0.0.1", 1))
    try:
        raise RuntimeError("real trouble")
    except RuntimeError:
        live_server.handle_error(None, ("127.0.0.1", 2))
    assert capsys.readouterr().err == ""
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "real trouble" in caplog.text
