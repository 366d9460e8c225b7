"""The remote outcome format: exact round trips, and hostile replies rejected, never unpickled."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.executors.wire import (
    WIRE_VERSION,
    WireError,
    decode_outcome,
    decode_report,
    encode_outcome,
    encode_report,
)
from sandbox import ErrorInfo, IsolationReport, Layer, LayerStatus, Outcome, OutcomeStatus

CAP = 2**20

# Strings as the channel decodes them: storable, so never a NUL (nor a lone surrogate).
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.text(st.characters(blacklist_categories=("Cs",),
                                          blacklist_characters="\x00"), max_size=200))
raw_outputs = st.one_of(
    scalars,
    st.lists(scalars, max_size=6),
    st.lists(st.lists(scalars, max_size=4), max_size=4),
    st.lists(st.lists(st.lists(scalars, max_size=3), max_size=3), max_size=3),
)
errors = st.builds(ErrorInfo, message=st.text(max_size=50),
                   exception_type=st.none() | st.text(max_size=20),
                   traceback=st.lists(st.text(max_size=40), max_size=4).map(tuple),
                   signal=st.none() | st.sampled_from(["SIGSEGV", "SIGKILL"]),
                   refused=st.none() | st.text(max_size=20),
                   payload_index=st.none() | st.integers(0, 9))
durations = st.floats(0, 1e4, allow_nan=False)


@st.composite
def outcomes(draw: st.DrawFn) -> Outcome:
    status = draw(st.sampled_from(list(OutcomeStatus)))
    n = draw(st.integers(1, 8))
    done = n if status is OutcomeStatus.OK else draw(st.integers(0, n))
    return Outcome(
        status=status, outputs=tuple(draw(raw_outputs) for _ in range(done)),
        seconds=tuple(draw(durations) for _ in range(done)), total_seconds=draw(durations),
        error=None if status is OutcomeStatus.OK and draw(st.booleans()) else draw(errors),
        stdout=draw(st.text(max_size=100)), cpu_seconds=draw(st.none() | durations),
        max_rss_kb=draw(st.none() | st.integers(0, 2**40)), n_payloads=n,
        isolation_level=draw(st.sampled_from(["full", "none", "partial:rlimits"])),
        steps=tuple(draw(st.integers(0, 2**40)) for _ in range(draw(st.integers(0, done)))))


@pytest.mark.slow
@given(outcomes())
@settings(max_examples=300, deadline=None)
def test_outcomes_cross_unchanged(outcome: Outcome) -> None:
    data = encode_outcome(outcome)
    back = decode_outcome(data, outcome.n_payloads, CAP)
    # Byte equality also covers NaN outputs, which never compare equal.
    assert encode_outcome(back) == data
    assert (back.status, back.error, back.seconds, back.n_payloads, back.steps) == \
        (outcome.status, outcome.error, outcome.seconds, outcome.n_payloads, outcome.steps)


def _ok_body(**changes: Any) -> dict[str, Any]:
    body = json.loads(encode_outcome(Outcome(OutcomeStatus.OK, outputs=([2, 0, 1], [1, 0]),
                                             seconds=(0.1, 0.2), total_seconds=0.5,
                                             n_payloads=2, isolation_level="full")))
    body.update(changes)
    return body


def _bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_the_reference_reply_decodes() -> None:
    outcome = decode_outcome(_bytes(_ok_body()), 2, CAP)
    assert outcome.ok and outcome.outputs == ([2, 0, 1], [1, 0])


@pytest.mark.parametrize(("changes", "why"), [
    ({"v": WIRE_VERSION + 1}, "version"),
    ({"status": "great"}, "unknown status"),
    ({"n_payloads": 3}, "payloads"),
    ({"n_payloads": True}, "payloads"),
    ({"outputs": [[1, 2], {"__reduce__": "os.system"}]}, "schema"),
    ({"outputs": [[[[[1]]]], [0]]}, "schema"),
    ({"outputs": ["x" * 201, [0]]}, "schema"),
    ({"outputs": "[1, 2]"}, "lists"),
    ({"outputs": [[1]], "seconds": [0.1]}, "inconsistent"),
    ({"seconds": [0.1, -1]}, "duration"),
    ({"total_seconds": "fast"}, "duration"),
    ({"stdout": 42}, "text"),
    ({"max_rss_kb": -5}, "non-negative"),
    ({"error": {"message": "m"}}, "fields"),
    ({"extra": 1}, "unexpected"),
    ({"steps": [1, -2]}, "non-negative"),
    ({"steps": [1, True]}, "non-negative"),
    ({"steps": "12"}, "lists"),
    ({"steps": [1, 2, 3]}, "inconsistent"),
])
def test_malformed_replies_are_rejected(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(WireError, match=why):
        decode_outcome(_bytes(_ok_body(**changes)), 2, CAP)


def test_step_counts_cross() -> None:
    outcome = decode_outcome(_bytes(_ok_body(steps=[7, 9])), 2, CAP)
    assert outcome.steps == (7, 9) and outcome.total_steps == 16


def test_a_missing_field_is_rejected() -> None:
    body = _ok_body()
    del body["stdout"]
    with pytest.raises(WireError, match="missing"):
        decode_outcome(_bytes(body), 2, CAP)


class _Boom:
    def __reduce__(self) -> tuple[Any, ...]:
        return (pytest.fail, ("a reply was unpickled",))


@pytest.mark.parametrize("data", [
    pickle.dumps(_Boom()),
    pickle.dumps(Outcome(OutcomeStatus.OK, outputs=([0],), seconds=(0.0,), n_payloads=1)),
    _ok_body(),
    "{}",
    b"[1, 2]",
    b"\xff\xfe",
    b"{" * 100_000,
])
def test_non_json_replies_are_rejected_without_being_executed(data: Any) -> None:
    with pytest.raises(WireError):
        decode_outcome(data, 1, CAP)


def test_the_size_cap_is_checked_before_parsing() -> None:
    data = _bytes(_ok_body())
    with pytest.raises(WireError, match="cap"):
        decode_outcome(data, 2, len(data) - 1)
    assert decode_outcome(data, 2, len(data)).ok


def test_isolation_reports_cross_unchanged() -> None:
    layers = tuple(LayerStatus(layer, layer is not Layer.SECCOMP, f"detail {layer.value}")
                   for layer in Layer)
    report = IsolationReport("auto", "bwrap", True, layers)
    back = decode_report(json.loads(json.dumps(encode_report(report))))
    assert back == report and back.level == report.level


@pytest.mark.parametrize("data", [
    None, [], {"mode": "auto"},
    {"mode": "auto", "launcher": "bwrap", "private_root": "yes", "layers": []},
    {"mode": "auto", "launcher": "bwrap", "private_root": True,
     "layers": [{"layer": "telepathy", "active": True, "detail": ""}]},
])
def test_malformed_reports_are_rejected(data: Any) -> None:
    with pytest.raises(WireError):
        decode_report(data)
