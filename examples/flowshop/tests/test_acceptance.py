"""Issue 15's acceptance on the flow shop, at test size: every feature through the plugin.

A strict-sandbox run killed with SIGKILL and resumed to its budget, the winner
exported with a passing self-check, and a run on two local Dask workers (which
resolve the problem by name themselves and bind its harness package).
"""

from __future__ import annotations

import pytest

pytest.importorskip("flowshop", reason="the plugin is not installed: pip install --no-deps -e "
                                       "examples/flowshop")

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

pytestmark = pytest.mark.slow

_ENV = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}


def _discover(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "discover.cli", *args], cwd=cwd, env=_ENV,
                          capture_output=True, text=True, timeout=1200)


def _evaluated(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("select count(*) from programs").fetchone()[0])
    except sqlite3.Error:
        return 0


def _strict_or_skip() -> None:
    from sandbox.launch import private_root_problem

    reason = private_root_problem(("evaluators", "flowshop"))
    if reason is not None:
        pytest.skip(f"strict sandbox unavailable: {reason}")


def test_strict_run_killed_resumed_and_exported(tmp_path: Path) -> None:
    _strict_or_skip()
    db = tmp_path / "r.sqlite"
    run = ["run", "--problem", "flowshop", "--budget", "40", "--model", "offline",
           "--sandbox", "strict", "--archive", f"sqlite:///{db}", "--progress", "quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "discover.cli", *run], cwd=tmp_path,
                            env=_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 600
    while _evaluated(db) < 10:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = _discover("run", "--resume", "1", "--archive", f"sqlite:///{db}",
                        "--progress", "quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "40/40 evaluated" in resumed.stdout and "NEH" in resumed.stdout
    exported = _discover("export", "r1", "-o", "best.py", "--archive", f"sqlite:///{db}",
                         cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    check = subprocess.run([sys.executable, "-I", "best.py"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert "self-check passed: makespan matches" in check.stdout
    _browse_shows_the_run(db, tmp_path)


def _browse_shows_the_run(db: Path, cwd: Path) -> None:
    """The browser serves the plugin's run and its best program (loopback only)."""
    import json
    import urllib.request

    server = subprocess.Popen([sys.executable, "-m", "discover.cli", "browse", "--archive",
                               f"sqlite:///{db}", "--port", "0", "--json"], cwd=cwd, env=_ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        buffer = ""
        while not buffer.rstrip().endswith("}"):
            line = server.stdout.readline()
            assert line, server.stderr.read() if server.stderr else "browse exited"
            buffer += line
        url = json.loads(buffer)["url"]
        with urllib.request.urlopen(f"{url}run/1", timeout=30) as page:
            html = page.read().decode()
        assert page.status == 200 and "flowshop" in html
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_run_on_two_local_dask_workers(tmp_path: Path) -> None:
    _strict_or_skip()
    done = _discover("run", "--problem", "flowshop", "--budget", "20", "--model", "offline",
                     "--sandbox", "strict", "--executor", "dask-local:2",
                     "--archive", f"sqlite:///{tmp_path / 'r.sqlite'}", "--progress", "quiet",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "20/20 evaluated" in done.stdout
