"""Cancelling requests in flight: the real SDKs, streaming, against the local server.

A :class:`~discover.providers.CancelScope` cut (the run's deadline or Ctrl-C)
must end a request at once, whether the server has not answered yet or is
streaming slowly, and the :class:`~discover.providers.Cancelled` it raises must
carry the tokens received before the cut, saying how they were counted.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from discover.providers import (
    AttemptOutcome,
    AttemptRecord,
    Budget,
    Cancelled,
    CancelScope,
    RequestRejected,
    Unavailable,
    build_pool,
)
from discover.providers.cancel import CTRL_C, TIME_LIMIT
from tests.discover.providers.conftest import (
    KINDS,
    PRICES,
    PoolFactory,
    fast_settings,
    spec_for,
)
from tests.discover.providers.fake_server import CODE_ANSWER, FakeServer, Step, pieces

LONG_TEXT = " ".join(f"word{k}" for k in range(400))
"""400 pieces: at 0.25 s a piece the answer would take 100 s."""


def _cancel_after(scope: CancelScope, seconds: float, reason: str) -> float:
    """Cancel ``scope`` from another thread in ``seconds``; returns the time it will fire."""
    timer = threading.Timer(seconds, scope.cancel, args=(reason,))
    timer.daemon = True
    timer.start()
    return time.monotonic() + seconds


def _cancel_when_sent(scope: CancelScope, server: FakeServer, events: int, reason: str
                      ) -> list[float]:
    """Cancel ``scope`` once the server has streamed ``events`` events; [time it fired]."""
    fired: list[float] = []

    def watch() -> None:
        while server.events_sent < events:
            time.sleep(0.01)
        fired.append(time.monotonic())
        scope.cancel(reason)

    threading.Thread(target=watch, daemon=True).start()
    return fired


def _pool(kind: str, server: FakeServer, scope: CancelScope, records: list[AttemptRecord],
          budget: Budget | None = None, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    return build_pool([(spec_for(kind, server), 1.0)], rng=np.random.default_rng(0),
                      settings=fast_settings(timeout=timeout), prices=PRICES, budget=budget,
                      listener=records.append, cancel=scope)


@pytest.mark.parametrize("kind", KINDS)
def test_a_complete_streamed_answer_is_the_whole_text_with_the_reported_usage(
        kind: str, server: FakeServer, make_pool: PoolFactory) -> None:
    server.push(Step(text=CODE_ANSWER, tokens_in=321, tokens_out=54))
    completion = make_pool(kind).complete("system", "user", max_tokens=100)
    assert completion.text == CODE_ANSWER
    assert (completion.tokens_in, completion.tokens_out) == (321, 54)
    body = server.received[0].body
    assert body["stream"] is True
    if kind != "anthropic":
        assert body["stream_options"] == {"include_usage": True}


# The fast loop keeps one provider of each waiting test; the others wait in the full suite.
ONE_FAST = [KINDS[0], *(pytest.param(k, marks=pytest.mark.slow) for k in KINDS[1:])]


@pytest.mark.parametrize("kind", ONE_FAST)
def test_a_slow_stream_is_cut_at_once_with_the_tokens_received(
        kind: str, server: FakeServer, records: list[AttemptRecord]) -> None:
    server.push(Step(text=LONG_TEXT, tokens_in=700, chunk_delay=0.25))
    scope = CancelScope()
    budget = Budget()
    pool = _pool(kind, server, scope, records, budget)
    # The cut comes once 8 events were sent: the role or message_start/block/ping events
    # first, then pieces of text. The client counts those it read before the cut: some,
    # never more than were sent (a loaded machine may not have read them all).
    fired = _cancel_when_sent(scope, server, 8, TIME_LIMIT)
    with pytest.raises(Cancelled) as caught:
        pool.complete("s" * 400, "u" * 800, max_tokens=1000)
    late = time.monotonic() - fired[0]
    assert late < 1.0, f"the request ended {late:.2f} s after the cut"
    usage = caught.value.usage
    preamble = 3 if kind == "anthropic" else 1
    assert usage.tokens_out is not None and 1 <= usage.tokens_out <= 8 - preamble
    if kind == "anthropic":
        assert usage.tokens_in == 700  # message_start reports it
        assert "reported by the server" in usage.basis and "counted" in usage.basis
    else:
        assert usage.tokens_in == (400 + 800) // 4  # no usage before the end: estimated
        assert "estimated" in usage.basis
    assert "cancelled: the run's time limit was reached" in str(caught.value)
    assert usage.basis in str(caught.value)
    # One attempt, archived as cancelled with its tokens, and paid for in the budget.
    assert [r.outcome for r in records] == [AttemptOutcome.CANCELLED]
    assert (records[0].tokens_in, records[0].tokens_out) == (usage.tokens_in, usage.tokens_out)
    assert budget.snapshot().tokens == usage.tokens_in + usage.tokens_out
    # The server saw the client go: it stopped sending long before the answer's end.
    deadline = time.monotonic() + 5.0
    while server.disconnected < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.disconnected == 1
    assert server.events_sent < len(pieces(LONG_TEXT)) // 4


@pytest.mark.parametrize("kind", ONE_FAST)
def test_a_server_that_has_not_answered_is_cut_at_once(
        kind: str, server: FakeServer, records: list[AttemptRecord]) -> None:
    server.push(Step(delay=60.0))
    scope = CancelScope()
    pool = _pool(kind, server, scope, records)
    fires = _cancel_after(scope, 1.0, CTRL_C)
    with pytest.raises(Cancelled) as caught:
        pool.complete("system", "user", max_tokens=100)
    assert time.monotonic() - fires < 1.0
    assert "cancelled: the run was interrupted (Ctrl-C)" in str(caught.value)
    usage = caught.value.usage
    if kind == "anthropic":
        # Nothing arrived, not even message_start: unknown, not zero.
        assert (usage.tokens_in, usage.tokens_out) == (None, None)
        assert "unknown" in usage.basis
    else:
        assert (usage.tokens_in, usage.tokens_out) == (3, 0)  # "system"+"user": 10 chars
        assert "estimated" in usage.basis
    assert [r.outcome for r in records] == [AttemptOutcome.CANCELLED]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_no_request_starts_once_cancelled(kind: str, server: FakeServer,
                                          records: list[AttemptRecord]) -> None:
    scope = CancelScope()
    scope.cancel(CTRL_C)
    with pytest.raises(Cancelled, match=r"before (a request slot was free|the request was sent)"):
        _pool(kind, server, scope, records).complete("s", "u", max_tokens=10)
    assert server.received == []


@pytest.mark.slow  # waits for its 4 s timeout
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_the_timeout_bounds_a_whole_streamed_answer(
        kind: str, server: FakeServer, records: list[AttemptRecord]) -> None:
    # Every event comes well within the read timeout; the whole answer does not.
    server.default = Step(text=LONG_TEXT, chunk_delay=0.2)
    start = time.monotonic()
    with pytest.raises(Exception) as caught:
        _pool(kind, server, CancelScope(), records, timeout=1.5).complete(
            "s", "u", max_tokens=10)
    assert time.monotonic() - start < 3 * 1.5 + 3.0  # three attempts of 1.5 s, and backoff
    cause = caught.value.__cause__ if not isinstance(caught.value, Unavailable) else caught.value
    assert "timed out after 1.5 s" in str(caught.value) + str(cause)
    assert all(r.outcome is AttemptOutcome.UNAVAILABLE for r in records)


def test_the_scope_cancels_once_at_its_deadline_and_the_first_reason_wins() -> None:
    scope = CancelScope(time.monotonic() + 0.3)
    seen: list[str] = []
    unsubscribe = scope.subscribe(lambda: seen.append("late"))
    scope.subscribe(lambda: seen.append("kept"))
    unsubscribe()
    scope.start()
    assert scope.wait(5.0) and scope.reason == TIME_LIMIT
    scope.cancel(CTRL_C)  # after the deadline: the deadline's reason stays
    assert scope.reason == TIME_LIMIT and seen == ["kept"]
    scope.subscribe(lambda: seen.append("after"))  # work starting now is cut at once
    assert seen == ["kept", "after"]
    scope.close()


def test_a_server_that_rejects_stream_options_is_asked_again_without_them(
        server: FakeServer, make_pool: PoolFactory, caplog: pytest.LogCaptureFixture) -> None:
    server.rejects_stream_options = True
    pool = make_pool("openai-compatible")
    first = pool.complete("s" * 400, "u" * 800, max_tokens=100)
    second = pool.complete("s" * 400, "u" * 800, max_tokens=100)
    assert first.text == second.text == CODE_ANSWER
    # The rejected request, its repeat without the option, then only requests without it.
    assert ["stream_options" in r.body for r in server.received] == [True, False, False]
    # No usage event: estimated (prompt characters/4, one answer token per streamed piece).
    assert (first.tokens_in, first.tokens_out) == ((400 + 800) // 4, len(pieces(CODE_ANSWER)))
    assert sum("rejects stream_options" in r.message for r in caplog.records) == 1


def test_another_bad_request_is_not_repeated(server: FakeServer,
                                             make_pool: PoolFactory) -> None:
    server.push(Step(status=400))
    with pytest.raises(RequestRejected):
        make_pool("openai-compatible").complete("system", "user", max_tokens=100)
    assert len(server.received) == 1


def test_a_bad_request_after_the_retry_without_stream_options_is_typed(
        server: FakeServer, make_pool: PoolFactory) -> None:
    server.rejects_stream_options = True
    server.push(Step(status=400))  # the repeat without the option is refused too
    with pytest.raises(RequestRejected):
        make_pool("openai-compatible").complete("system", "user", max_tokens=100)
    assert ["stream_options" in r.body for r in server.received] == [True, False]
