"""The loop driving the real OpenAI and Anthropic SDKs against a local fault-injecting server."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from archive import Archive
from discover.config import ModelSpec
from discover.runner import run
from tests.discover.loop_fixtures import assert_consistent, small_config
from tests.discover.providers.fake_server import FakeServer, Step, rate_limited

pytestmark = pytest.mark.slow

KEY = "sk-test-loop-SECRET-42"


def _answer(k: int) -> Step:
    """A distinct, valid MDD variant per request (so nothing is a duplicate)."""
    c = 1.0 + 0.05 * (k + 1)
    text = (
        f"IDEA: weight processing time by {c:.2f} in the modified due date.\n"
        "```python\n"
        "def schedule(processing_times, due_dates):\n"
        "    n = len(processing_times)\n"
        "    remaining = list(range(n))\n"
        "    order, t = [], 0\n"
        "    while remaining:\n"
        f"        j = min(remaining, key=lambda i: (max(t + {c:.2f} * processing_times[i],"
        " due_dates[i]), i))\n"
        "        remaining.remove(j)\n"
        "        order.append(j)\n"
        "        t += processing_times[j]\n"
        "    return order\n"
        "```\n"
    )
    return Step(text=text, tokens_in=500 + k, tokens_out=80)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(("kind", "model"), [("openai", "gpt-test"),
                                             ("anthropic", "claude-test")])
def test_run_completes_through_429_and_500(tmp_path: Path, kind: str, model: str) -> None:
    with FakeServer(default=_answer(999)) as server:
        steps: list[Step] = []
        for k in range(40):
            if k % 7 == 3:
                steps.append(rate_limited(retry_after="0"))
            if k % 11 == 5:
                steps.append(Step(status=500))
            steps.append(_answer(k))
        server.push(*steps)
        url = server.openai_url if kind == "openai" else server.anthropic_url
        config = small_config(
            tmp_path, budget=14, workers=1,
            models=(ModelSpec(f"{kind}:{model}", 1.0, url),),
            llm={"concurrency": 2, "max_attempts": 4,
                 "prices": {model: {"input": 2.0, "output": 8.0}}},
        )
        result = run(config)
        faults = sum(1 for s in steps if s.status != 200)
        served = len(server.received)
    # Every fault before the 11th answer was retried, not skipped.
    assert served >= 11 + min(faults, 3)
    assert result.status == "finished", result.reason
    assert result.evaluated == 14
    with Archive.open(config.archive) as archive:
        state = archive.run_state(result.run_id)
        assert_consistent(state, 14)
        counters = state.counters
        assert counters.model_calls >= 11
        assert counters.tokens_in >= 500 * 11 and counters.tokens_out >= 80 * 11
        assert counters.cost > 0
        detail = archive.program(state.programs[-1].id)
        assert detail.model_calls and detail.model_calls[0].tokens_in
        assert detail.program.idea and "modified due date" in detail.program.idea
    for record in server.received:
        assert KEY not in str(record.body)


def test_run_stops_with_clear_error_when_every_call_fails(tmp_path: Path) -> None:
    with FakeServer(default=Step(status=500)) as server:
        config = small_config(
            tmp_path, budget=30, workers=1,
            models=(ModelSpec("openai:gpt-test", 1.0, server.openai_url),),
            llm={"concurrency": 1, "max_attempts": 2, "max_consecutive_failures": 2},
        )
        result = run(config)
    assert result.status == "failed"
    assert "model provider failed" in result.reason
    assert result.evaluated == 3  # the seed programs only
    with Archive.open(config.archive) as archive:
        counters = archive.run_state(result.run_id).counters
        assert counters.calls_with_error >= 2


def test_time_limit_cancels_model_calls_in_flight(tmp_path: Path) -> None:
    # Every answer takes a minute: at the time limit all the run's calls are in flight.
    limit = 15.0
    with FakeServer(default=Step(delay=60.0)) as server:
        config = small_config(
            tmp_path, budget=30, workers=1,
            models=(ModelSpec("openai:gpt-test", 1.0, server.openai_url),),
            llm={"concurrency": 2, "max_attempts": 3},
        ).with_overrides(time_limit=limit, sandbox="none")
        start = time.monotonic()
        result = run(config)
        elapsed = time.monotonic() - start
        asked = len(server.received)
    assert result.status == "finished" and "time limit" in result.reason
    assert elapsed < limit + 5.0, f"the run took {elapsed:.1f} s with a {limit:g} s limit"
    assert asked >= 1, "no model call was in flight at the limit (set-up took too long?)"
    with Archive.open(config.archive) as archive:
        state = archive.run_state(result.run_id)
    assert state.counters.evaluated == 3  # the seeds; no answer arrived
    with sqlite3.connect(str(config.archive).removeprefix("sqlite:///")) as db:
        calls = db.execute("select error, prompt, program_id from model_calls "
                           "where run_id = ?", (result.run_id,)).fetchall()
    # Every request the server saw is archived, as cancelled at the limit, with its prompt.
    assert len(calls) == asked
    for error, prompt, program_id in calls:
        assert error and "cancelled: the run's time limit was reached" in error, error
        assert prompt and program_id is None
