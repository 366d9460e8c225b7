"""The result channel: what the child may send, and a decoder that survives hostile bytes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.channel import (
    MAX_DEPTH,
    MAX_STRING,
    ChannelError,
    ErrorKind,
    FrameKind,
    Unsendable,
    check_value,
    encode_value,
    frame,
    iter_frames,
    output_frame,
    parse_report,
    stream_budget,
)


class EvilFloat(float):
    def __eq__(self, other: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "0"

    def __float__(self) -> float:
        return 0.0

    __hash__ = float.__hash__


class EvilInt(int):
    def __eq__(self, other: object) -> bool:
        return True

    def __int__(self) -> int:
        return 0

    __hash__ = int.__hash__


def test_plain_int_list_passes_through() -> None:
    values = [3, 1, 2]
    assert encode_value(values, 10) is values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("text", "text"),
        ((2, 0, 1), [2, 0, 1]),
        ([1.5, True, None], [1.5, True, None]),
        (np.array([2, 0, 1], dtype=np.int32), [2, 0, 1]),
        (np.array([0.5, 1.0]), [0.5, 1.0]),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (np.int64(7), 7),
        ([np.int16(1), np.float32(0.5)], [1, 0.5]),
    ],
)
def test_encoding_of_allowed_values(value: object, expected: object) -> None:
    encoded = encode_value(value, 100)
    assert encoded == expected
    assert check_value(json.loads(json.dumps(encoded))) == expected


def test_subclasses_are_read_through_the_base_type() -> None:
    encoded = encode_value([EvilFloat(2.5), EvilInt(4)], 10)
    assert encoded == [2.5, 4]
    assert isinstance(encoded, list)
    assert [type(v) for v in encoded] == [float, int]


def test_non_finite_floats_survive() -> None:
    encoded = encode_value([math.nan, math.inf, -math.inf], 10)
    decoded = json.loads(json.dumps(encoded))
    assert math.isnan(decoded[0]) and decoded[1] == math.inf and decoded[2] == -math.inf


def test_long_strings_are_truncated() -> None:
    assert encode_value("x" * 10_000, 10) == "x" * MAX_STRING


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1}, "dict cannot be returned"),
        ((x for x in range(3)), "generator cannot be returned"),
        ([1, object()], "output[1]: object cannot be returned"),
        (np.array(["a", "b"]), "dtype <U1"),
        (list(range(11)), "more than the allowed 10"),
        (np.zeros(11), "more than the allowed 10"),
    ],
)
def test_unsendable_values(value: object, message: str) -> None:
    with pytest.raises(Unsendable, match=message.replace("[", r"\[").replace("]", r"\]")):
        encode_value(value, 10)


def test_nesting_is_limited() -> None:
    nested: list[object] = []
    nested.append(nested)  # self-referential
    with pytest.raises(Unsendable, match="nested"):
        encode_value(nested, 100)
    deep: object = 1
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert encode_value(deep, 100) == deep
    with pytest.raises(Unsendable):
        encode_value([deep], 100)


def _stream(*frames: bytes) -> bytes:
    return b"".join(frames)


def _out(i: int, v: object) -> bytes:
    return frame(FrameKind.OUTPUT, {"i": i, "t": 0.001, "v": v})


def test_report_of_a_complete_run() -> None:
    data = _stream(frame(FrameKind.STARTED), _out(0, [1, 0]), _out(1, [0, 1]),
                   frame(FrameKind.DONE))
    report = parse_report(data, 2)
    assert report.started and report.done and not report.memory
    assert report.outputs == ([1, 0], [0, 1])
    assert report.seconds == (0.001, 0.001)


def _steps(i: int, count: object) -> bytes:
    return frame(FrameKind.STEPS, {"i": i, "s": count})


def test_step_counts_follow_their_outputs() -> None:
    data = _stream(frame(FrameKind.STARTED), _out(0, [1, 0]), _steps(0, 12), _out(1, [0, 1]),
                   _steps(1, 0), frame(FrameKind.DONE))
    report = parse_report(data, 2)
    assert report.steps == (12, 0) and report.outputs == ([1, 0], [0, 1])
    assert parse_report(_stream(frame(FrameKind.STARTED), _out(0, [0]), _out(1, [0]),
                                frame(FrameKind.DONE)), 2).steps == ()


def _step_limit(i: object, count: object) -> bytes:
    return frame(FrameKind.ERROR, {"i": i, "kind": "step_limit", "s": count})


def test_a_step_limit_error_carries_the_batch_count() -> None:
    data = _stream(frame(FrameKind.STARTED), _out(0, [0]), _steps(0, 12), _step_limit(1, 21))
    report = parse_report(data, 3, step_limit=20)
    assert report.error is not None and report.error["kind"] is ErrorKind.STEP_LIMIT
    assert (report.error["index"], report.error["steps"]) == (1, 21)
    assert report.steps == (12,) and not report.done


@pytest.mark.parametrize(
    ("frames", "limit"),
    [
        ((_step_limit(0, 21),), None),  # the job asked for no limit
        ((_step_limit(0, 20),), 20),  # not over the limit
        ((_step_limit(0, True),), 0),
        ((_step_limit(0, 21.0),), 20),
        ((_step_limit(0, "21"),), 20),
        ((frame(FrameKind.ERROR, {"i": 0, "kind": "step_limit"}),), 20),
        ((_step_limit(-1, 21),), 20),  # no step is counted at import
        ((_out(0, [0]), _steps(0, 5), _step_limit(0, 21)), 20),  # a finished payload
        ((_out(0, [0]), _steps(0, 5), _step_limit(2, 21)), 20),  # skips a payload
        ((_out(0, [0]), _step_limit(1, 21)), 20),  # payload 0's count missing
        ((_out(0, [0]), _steps(0, 25), _step_limit(1, 30)), 20),  # should have stopped on 0
        ((frame(FrameKind.UNSENDABLE, {"i": 0, "t": 0.1, "why": "x"}), _step_limit(0, 21)), 20),
    ],
)
def test_malformed_step_limit_errors_are_rejected(frames: tuple[bytes, ...],
                                                   limit: int | None) -> None:
    with pytest.raises(ChannelError, match="step"):
        parse_report(_stream(frame(FrameKind.STARTED), *frames), 3, step_limit=limit)


def test_report_of_an_error() -> None:
    data = _stream(frame(FrameKind.STARTED), _out(0, [0]),
                   frame(FrameKind.ERROR, {"i": 1, "kind": "exception", "type": "KeyError",
                                           "msg": "3", "tb": ["a", "b"]}))
    report = parse_report(data, 3)
    assert report.error is not None
    assert report.error["kind"] is ErrorKind.EXCEPTION
    assert report.error["index"] == 1
    assert report.error["tb"] == ("a", "b")
    assert not report.done


@pytest.mark.parametrize(
    "data",
    [
        b"\x00",  # truncated header
        b"Z\x00\x00\x00\x00",  # unknown kind
        b"O\xff\x00\x00\x00{}",  # body runs past the end
        b"O\x02\x00\x00\x00[]",  # body not an object
        b"O\x03\x00\x00\x00{x}",  # not JSON
        _out(1, [0]),  # out of order
        _out(0, [0]) + _out(0, [0]),  # duplicate
        _out(0, {"a": 1}),  # value outside the schema
        _out(0, "y" * (MAX_STRING + 1)),
        _out(0, [[[[[1]]]]]),
        _out(5, [0]),  # index outside the batch
        frame(FrameKind.OUTPUT, {"i": 0, "t": -1.0, "v": [0]}),
        frame(FrameKind.OUTPUT, {"i": 0, "t": "fast", "v": [0]}),
        frame(FrameKind.OUTPUT, {"i": 0, "t": 0.1}),
        frame(FrameKind.DONE),  # end marker without the outputs
        frame(FrameKind.DONE) + frame(FrameKind.STARTED),
        frame(FrameKind.ERROR, {"i": 0, "kind": "bogus"}),
        _steps(0, 5),  # a count before its output
        _out(0, [0]) + _steps(1, 5),  # a count for another payload
        _out(0, [0]) + _steps(0, 5) + _steps(0, 5),  # two counts for one payload
        _out(0, [0]) + _steps(0, -1),
        _out(0, [0]) + _steps(0, True),
        _out(0, [0]) + _steps(0, 2.5),
        b"cos\nsystem\n(S'echo pwned'\ntR.",  # a pickle is just garbage here
    ],
)
def test_malformed_streams_are_rejected(data: bytes) -> None:
    with pytest.raises(ChannelError):
        parse_report(data, 2)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    try:
        report = parse_report(data, 3)
    except ChannelError:
        return
    for value in report.outputs:
        check_value(value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                          st.booleans(), st.none()), max_size=50))
def test_roundtrip_of_flat_lists(values: list[object]) -> None:
    data = output_frame(0, 0.0, values, 100) + frame(FrameKind.DONE)
    (decoded,) = parse_report(data, 1).outputs
    assert len(decoded) == len(values)
    for a, b in zip(decoded, values, strict=True):
        assert type(a) is type(b)
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))  # type: ignore[arg-type]


def test_frames_iterate_in_order() -> None:
    kinds = [k for k, _ in iter_frames(_stream(frame(FrameKind.STARTED), frame(FrameKind.DONE)))]
    assert kinds == [FrameKind.STARTED, FrameKind.DONE]


@pytest.mark.parametrize(("value", "kind"), [
    ([3, 0, 2, 1], FrameKind.INTS),
    ([], FrameKind.INTS),
    ([-(2**63), 2**63 - 1], FrameKind.INTS),
    ([2**63, 1], FrameKind.OUTPUT),  # beyond int64: JSON keeps it exact
    ([True, 1], FrameKind.OUTPUT),  # bools must stay bools for the validator
    ([EvilInt(1)], FrameKind.OUTPUT),
    ([1.0, 2], FrameKind.OUTPUT),
    ((1, 2), FrameKind.OUTPUT),
    ([0.5, float("inf"), -2.0], FrameKind.FLOATS),
    ([EvilFloat(1.5)], FrameKind.OUTPUT),
])
def test_output_frames_choose_an_exact_encoding(value: object, kind: FrameKind) -> None:
    data = output_frame(0, 0.25, value, 100)
    assert data[0] == kind
    report = parse_report(data + frame(FrameKind.DONE), 1)
    assert report.outputs == (list(value),)  # type: ignore[call-overload]
    assert [type(v) for v in report.outputs[0]] == [
        bool if type(v) is bool else float if isinstance(v, float) else int
        for v in value]  # type: ignore[attr-defined]
    assert report.seconds == (0.25,)


@pytest.mark.parametrize("kind", [FrameKind.INTS, FrameKind.FLOATS])
@pytest.mark.parametrize("body", [b"", b"\x00\x00\x00", b"\x00" * 12 + b"\x01\x02\x03"])
def test_malformed_packed_frames(kind: FrameKind, body: bytes) -> None:
    data = bytes((kind,)) + len(body).to_bytes(4, "little") + body
    with pytest.raises(ChannelError):
        parse_report(data, 1)


def test_int_frames_are_checked_like_others() -> None:
    data = output_frame(1, 0.0, [0], 10)  # out of order
    with pytest.raises(ChannelError, match="out of order"):
        parse_report(data, 2)
    bad_time = output_frame(0, float("nan"), [0], 10)
    with pytest.raises(ChannelError, match="duration"):
        parse_report(bad_time, 1)
    with pytest.raises(Unsendable):
        output_frame(0, 0.0, list(range(11)), 10)


# -- bounded decoding and storable text (issue 18, findings 1, 4 and 8) -------------------
def _json_frame(kind: FrameKind, body: bytes) -> bytes:
    return bytes((kind,)) + len(body).to_bytes(4, "little") + body


def test_a_frame_of_many_lists_is_refused_before_decoding() -> None:
    import tracemalloc

    n = 2_000_000
    data = _json_frame(FrameKind.OUTPUT, b'{"i":0,"t":0,"v":[' + b"[]," * (n - 1) + b"[]]}")
    tracemalloc.start()
    try:
        with pytest.raises(ChannelError, match="more than 1000000 values"):
            parse_report(data, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 * 2**20  # nothing was decoded (or even copied)


def test_the_whole_stream_shares_one_decoding_budget() -> None:
    # Each frame is within one output's cap, but together they would decode into
    # millions of lists: the budget of the stream runs out at the first one.
    body = b'{"i":%d,"t":0,"v":[' + b"[]," * 299_999 + b"[]]}"
    data = b"".join(_json_frame(FrameKind.OUTPUT, body % k) for k in range(6))
    with pytest.raises(ChannelError, match="too large to decode"):
        parse_report(data, 6, max_items=1_000_000)
    # Fewer lists fit in the budget and decode as usual; a batch of large payloads
    # gets a larger budget (stream_budget).
    small = b'{"i":%d,"t":0,"v":[' + b"[1]," * 99 + b"[1]]}"
    stream = b"".join(_json_frame(FrameKind.OUTPUT, small % k) for k in range(6))
    with pytest.raises(ChannelError, match="too large to decode"):
        parse_report(stream, 6, max_items=1_000)
    budget = stream_budget(1_000, payload_bytes=5_000)
    assert len(parse_report(stream, 6, max_items=1_000, decode_budget=budget).outputs) == 6


@pytest.mark.parametrize("value", [
    [[1, 2]] * 60,  # nested lists at the encoder's limit
    np.arange(300).reshape(30, 10),
    [1.5, 2] * 220,
    ["a,b,[c]" * 20] * 2,  # commas and brackets inside strings count, within the cap
])
def test_everything_the_encoder_sends_is_decoded(value: object) -> None:
    """The decoder's budget never refuses what the child's encoder accepted."""
    max_items = 1000
    try:
        data = output_frame(0, 0.0, value, max_items)
    except Unsendable:
        pytest.fail("the encoder refused a value it should send")
    report = parse_report(data + frame(FrameKind.DONE), 1, max_items=max_items)
    assert len(report.outputs) == 1


def test_encoder_counts_nested_lists_like_the_decoder() -> None:
    with pytest.raises(Unsendable):
        encode_value([[1]] * 200, 1000)  # 200 values + 200 nested lists of weight 8
    with pytest.raises(Unsendable):
        encode_value(np.zeros((200, 1)), 1000)
    assert encode_value([[1]] * 100, 1000) == [[1]] * 100


def test_packed_frames_are_capped_too() -> None:
    data = output_frame(0, 0.0, list(range(20)), 100)
    with pytest.raises(ChannelError, match="more than 10 values"):
        parse_report(data, 1, max_items=10)


def test_text_fields_come_out_storable() -> None:
    body = json.dumps({"i": 0, "kind": "exception", "type": "E\ud800", "msg": "m\x00\udfff",
                       "tb": ["line \ud800"]}).encode()
    report = parse_report(frame(FrameKind.STARTED) + _json_frame(FrameKind.ERROR, body), 1)
    assert report.error is not None
    assert report.error["type"] == "E\\ud800"
    assert report.error["msg"] == "m\\x00\\udfff"
    assert report.error["tb"] == ("line \\ud800",)
    value = json.dumps({"i": 0, "t": 0, "v": ["\ud800", 1]}).encode()
    (output,) = parse_report(_json_frame(FrameKind.OUTPUT, value), 1).outputs
    assert output == ["\\ud800", 1]


def test_a_setup_failure_after_the_start_is_forged() -> None:
    body = json.dumps({"i": -1, "kind": "setup", "type": "OSError", "msg": "x"}).encode()
    before = parse_report(_json_frame(FrameKind.ERROR, body), 1)
    assert before.error is not None and before.error["kind"] is ErrorKind.SETUP
    with pytest.raises(ChannelError, match="after the candidate started"):
        parse_report(frame(FrameKind.STARTED) + _json_frame(FrameKind.ERROR, body), 1)
