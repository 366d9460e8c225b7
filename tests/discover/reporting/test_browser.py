"""``discover browse``: the exporter wiring and the command line."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive
from archive.browser import ExportUnavailable
from discover.cli import main
from discover.reporting.browser import browser_app, program_exporter


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), terminal_width=160)
    return result.exit_code, result.output


def test_help_has_an_example() -> None:
    code, out = invoke("browse", "--help")
    assert code == 0 and "discover browse --archive" in out and "read-only" in out


def test_missing_archive_is_a_clean_error(tmp_path: Path) -> None:
    code, out = invoke("browse", "--archive", str(tmp_path / "nothing.sqlite"), "--port", "0")
    assert code == 1 and "no archive at" in out and "Traceback" not in out
    assert not (tmp_path / "nothing.sqlite").exists()


def test_busy_port_is_a_clean_error(smtt_run: tuple[Archive, dict[str, int]]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out = invoke("browse", "--archive", smtt_run[0].url, "--port", str(port))
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in out


@pytest.mark.slow
def test_exporter_writes_the_standalone_module(smtt_run: tuple[Archive, dict[str, int]],
                                               tmp_path: Path) -> None:
    archive, ids = smtt_run
    exporter = program_exporter(archive, timeout=60)
    exported = exporter(ids["fancy"])
    assert exported.filename == f"program_{ids['fancy']}.py"
    assert exporter(ids["fancy"]) is exported  # remembered
    module = tmp_path / exported.filename
    module.write_bytes(exported.content)
    check = subprocess.run([sys.executable, str(module)], capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"program     {ids['fancy']}" in exported.content.decode()
    with pytest.raises(ExportUnavailable, match="no program"):
        exporter(999_999)


def test_app_routes_exports_through_the_token(smtt_run: tuple[Archive, dict[str, int]]) -> None:
    archive, ids = smtt_run
    app = browser_app(archive.url)
    try:
        page = app.handle("GET", f"/program/{ids['mdd']}").text
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token is not None
        response = app.handle("POST", f"/program/{ids['mdd']}/export",
                              {"token": [token.group(1)]})
        assert response.status == 200 and b"def schedule" in response.body
    finally:
        app.archive.close()


@pytest.mark.slow
def test_command_serves_until_interrupted(smtt_run: tuple[Archive, dict[str, int]]) -> None:
    archive, ids = smtt_run
    process = subprocess.Popen(
        [sys.executable, "-c", "from discover.cli import main; main()", "browse", "--archive",
         archive.url, "--port", "0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("}"):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            lines.append(line)
        info = json.loads("".join(lines))
        assert info["host"] == "127.0.0.1" and info["archive"] == archive.url
        with urllib.request.urlopen(info["url"], timeout=60) as response:
            assert response.status == 200 and b"run 1" in response.read()
        url = urllib.parse.urljoin(info["url"], f"/program/{ids['fancy']}")
        with urllib.request.urlopen(url, timeout=60) as response:
            assert b"MDD with SPT ties" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
