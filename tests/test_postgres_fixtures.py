"""The throwaway PostgreSQL cluster never outlives the test session that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.system_components import Component, require

ROOT = Path(__file__).resolve().parent.parent

HOLDER = '''
def test_hold(postgres_server, tmp_path_factory):
    import os, pathlib, time
    pathlib.Path(os.environ["HOLDER_OUT"]).write_text(postgres_server)
    time.sleep(600)
'''


def _clusters_for(url: str) -> list[str]:
    """Command lines of running postmasters listening on ``url``'s port."""
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            conf = ""
            if "postgres" in cmdline and " -D " in cmdline:
                data = cmdline.split(" -D ", 1)[1].split()[0]
                conf = Path(data, "postgresql.conf").read_text()
        except OSError:
            continue
        if f"port = {port}" in conf:
            found.append(cmdline)
    return found


@pytest.mark.slow
def test_a_killed_session_does_not_leave_its_cluster_running(tmp_path: Path) -> None:
    """Before: a session killed with SIGKILL left its auto-started cluster running."""
    require(Component.POSTGRES)
    (tmp_path / "test_hold.py").write_text(HOLDER)
    out = tmp_path / "url"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISCOVER_TEST_POSTGRES_URL", "PYTEST_CURRENT_TEST")}
    env["HOLDER_OUT"] = str(out)
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.postgres_fixtures",
         "-p", "no:cacheprovider", str(tmp_path / "test_hold.py")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not out.exists() and session.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert out.exists(), "the session never started its cluster"
        url = out.read_text()
        assert _clusters_for(url), "no postmaster found for the session's cluster"
        os.kill(session.pid, signal.SIGKILL)
        session.wait(timeout=10)
        deadline = time.monotonic() + 60
        while _clusters_for(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _clusters_for(url) == [], "the cluster outlived its killed session"
    finally:
        if session.poll() is None:
            os.killpg(session.pid, signal.SIGKILL)
