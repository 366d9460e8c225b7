"""``discover run`` ends within seconds of its time limit, and of Ctrl-C, whatever is in flight.

Each test runs the real command (a subprocess, as a user would) or :func:`run`
against the local protocol-faithful server (streamed answers, 127.0.0.1 only)
and the real sandbox. The server's answers, or a candidate's evaluation, would
take minutes; the run must end within 5 s of its limit or of Ctrl-C, with the
cut calls archived as cancelled with the tokens received, and a cut evaluation
archived as ``cancelled``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive import Archive, EvaluationStatus, RunStatus, Split
from discover.config import ModelSpec, RunConfig
from discover.runner import SKIPPED_VALIDATION
from tests.discover.loop_fixtures import small_config
from tests.discover.providers.fake_server import FakeServer, Step

pytestmark = pytest.mark.slow

KEY = "sk-test-cancel-SECRET-19"
GRACE = 5.0
"""Seconds a run may take past its time limit, or after Ctrl-C (the issue's acceptance)."""

SLOW_TEXT = " ".join(f"thinking{k}" for k in range(2000))
"""Streamed at 0.2 s a piece: the answer would take 400 s."""

SLOW_CODE = (
    "IDEA: look much further ahead.\n```python\n"
    "def schedule(processing_times, due_dates):\n"
    "    x = 0\n"
    "    for i in range(10 ** 12):\n"
    "        x += i\n"
    "    return list(range(len(due_dates)))\n```\n"
)
"""A candidate that would run for hours (its own time limit is set to minutes)."""


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(variable, raising=False)


def _config(tmp_path: Path, server: FakeServer, **evaluation: float) -> RunConfig:
    config = small_config(tmp_path, budget=40, workers=1,
                          models=(ModelSpec("openai:gpt-test", 1.0, server.openai_url),),
                          llm={"concurrency": 2, "max_attempts": 3})
    if evaluation:
        config = config.with_overrides(**{f"evaluation.{k}": v for k, v in evaluation.items()})
    return config


def _start(config: RunConfig, path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], float]:
    """``discover run`` in its own session (so that SIGINT to its group is a terminal's Ctrl-C)."""
    path.write_text(config.to_toml())
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "discover.cli", "run", "--config", str(path),
         "--progress", "quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    return proc, started


def _wait_until(condition, proc: subprocess.Popen[bytes], what: str,  # type: ignore[no-untyped-def]
                timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: "
                                 + (proc.stderr.read().decode() if proc.stderr else ""))
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {what} after {timeout} s")


def _calls(config: RunConfig) -> list[tuple[str | None, int | None, int | None, int | None]]:
    """(error, tokens_in, tokens_out, program_id) of every archived model call."""
    with sqlite3.connect(str(config.archive).removeprefix("sqlite:///")) as db:
        return db.execute("select error, tokens_in, tokens_out, program_id from model_calls"
                          ).fetchall()


def _the_run(config: RunConfig):  # type: ignore[no-untyped-def]
    with Archive.open(config.archive) as archive:
        (summary,) = archive.runs()
        return archive.run_state(summary.run.id)


def test_time_limit_ends_the_command_near_the_limit_while_answers_stream(
        tmp_path: Path) -> None:
    limit = 30.0
    with FakeServer(default=Step(text=SLOW_TEXT, chunk_delay=0.2)) as server:
        proc, started = _start(_config(tmp_path, server), tmp_path / "run.toml",
                               "--time-limit", f"{limit:g}")
        out, err = proc.communicate(timeout=limit + 60)
        ended = time.monotonic() - started
        asked = len(server.received)
    # From the process's start (interpreter and imports included) to its exit.
    print(f"time limit {limit:g} s: the command ended after {ended:.2f} s")
    assert proc.returncode == 0, err.decode()
    assert ended < limit + GRACE, f"the command took {ended:.1f} s with --time-limit {limit:g}"
    assert SKIPPED_VALIDATION.lstrip("; ") in out.decode()
    assert asked >= 1, "no model call was in flight at the limit"
    calls = _calls(_config(tmp_path, server))
    assert len(calls) == asked  # every request the server saw is on record
    for error, tokens_in, tokens_out, program_id in calls:
        assert error and error.count("cancelled: the run's time limit was reached") == 1, error
        assert "estimated" in error and program_id is None
        # Prompt tokens estimated from the request, answer tokens as received events.
        assert tokens_in is not None and tokens_in > 100
        assert tokens_out is not None and tokens_out >= 1
    assert _the_run(_config(tmp_path, server)).run.status is RunStatus.FINISHED


def test_ctrl_c_cuts_the_model_calls_in_flight(tmp_path: Path) -> None:
    with FakeServer(default=Step(text=SLOW_TEXT, chunk_delay=0.2)) as server:
        config = _config(tmp_path, server)
        proc, _ = _start(config, tmp_path / "run.toml")
        # Calls in flight, and text already streaming in.
        _wait_until(lambda: server.events_sent >= 10, proc, "streamed answer")
        asked = len(server.received)
        interrupted = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, err = proc.communicate(timeout=60)
        ended = time.monotonic() - interrupted
        asked = len(server.received)
    print(f"Ctrl-C with model calls in flight: the command ended {ended:.2f} s later")
    assert proc.returncode == 130, err.decode()
    assert ended < GRACE, f"the command took {ended:.1f} s to end after Ctrl-C"
    assert b"--resume" in err and b"interrupted" in err
    state = _the_run(config)
    assert state.run.status is RunStatus.INTERRUPTED
    calls = [c for c in _calls(config) if c[0] and "cancelled" in c[0]]
    assert len(calls) == asked, (calls, asked)
    for error, tokens_in, tokens_out, _ in calls:
        assert error is not None and "cancelled: the run was interrupted (Ctrl-C)" in error
        assert tokens_in is not None and tokens_out is not None
    assert any(c[2] for c in calls), "no call kept the tokens it had received"


def test_time_limit_cuts_a_slow_evaluation(tmp_path: Path) -> None:
    limit = 30.0
    with FakeServer(default=Step(text=SLOW_CODE)) as server:
        # The candidate may run for minutes by its own limits: only the run's limit cuts it.
        config = _config(tmp_path, server, candidate_time_limit=600.0)
        proc, started = _start(config, tmp_path / "run.toml", "--time-limit", f"{limit:g}")
        out, err = proc.communicate(timeout=limit + 120)
        ended = time.monotonic() - started
    print(f"time limit {limit:g} s with a slow evaluation: the command ended after {ended:.2f} s")
    assert proc.returncode == 0, err.decode()
    assert ended < limit + GRACE, f"the command took {ended:.1f} s with --time-limit {limit:g}"
    assert "time limit" in out.decode() and SKIPPED_VALIDATION.lstrip("; ") in out.decode()
    state = _the_run(config)
    cut = [ps.evaluations[Split.TRAIN] for ps in state.programs
           if Split.TRAIN in ps.evaluations
           and ps.evaluations[Split.TRAIN].status is EvaluationStatus.CANCELLED]
    assert cut, "no evaluation was in flight at the limit"
    for evaluation in cut:
        assert evaluation.error is not None
        assert evaluation.error.startswith("cancelled: the run's time limit was reached after")


def test_ctrl_c_cuts_a_slow_evaluation(tmp_path: Path) -> None:
    with FakeServer(default=Step(text=SLOW_CODE)) as server:
        config = _config(tmp_path, server, candidate_time_limit=600.0)
        proc, _ = _start(config, tmp_path / "run.toml")
        _wait_until(lambda: len(server.received) >= 1, proc, "model call")
        time.sleep(3.0)  # the slow candidate is in the sandbox now
        interrupted = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        ended = time.monotonic() - interrupted
    print(f"Ctrl-C with a slow evaluation in flight: the command ended {ended:.2f} s later")
    assert proc.returncode == 130, err.decode()
    assert ended < GRACE, f"the command took {ended:.1f} s to end after Ctrl-C"
    assert b"--resume" in err
    state = _the_run(config)
    assert state.run.status is RunStatus.INTERRUPTED
    # The cut slot is not archived as a program (a resumed run proposes it again), but
    # the model call that wrote it is.
    assert all(ps.evaluations[Split.TRAIN].status is not EvaluationStatus.CANCELLED
               for ps in state.programs if Split.TRAIN in ps.evaluations)
    assert len(_calls(config)) >= 1
