"""The fixed format in which a remote sandbox's outcome travels back: JSON, checked field by field.

A Dask worker runs a candidate in its own sandbox pool and sends back the
:class:`sandbox.Outcome` as UTF-8 JSON bytes — never a pickle. The orchestrator
decodes it here with the same schema the sandbox channel enforces (raw
outputs are ``None``, ``bool``, ``int``, ``float``, ``str`` or shallow lists of
these) and then validates and scores the outputs itself, with the problem's
own ``validate`` and ``objective``. A worker that sends anything else gets its
reply rejected as :class:`WireError`, whatever it claims.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sandbox import ErrorInfo, IsolationReport, Layer, LayerStatus, Outcome, OutcomeStatus
from sandbox.channel import ChannelError, as_seconds, check_value

WIRE_VERSION = 3
"""Bumped whenever the format changes; workers and orchestrator must agree.

Checked at each worker's hello, so it also covers the requests
(:class:`~discover.executors.remote.SandboxRequest`): 2 added the step counts,
3 the requests' ``step_limit`` (a worker that ignored it would run candidates
over the runtime gate's limit to the end; the outcome's fields are those of 2).
"""

MAX_TEXT = 64 * 2**10
"""Longest text field accepted (messages, stdout tails, traceback lines)."""

_OUTCOME_KEYS = frozenset({"v", "status", "outputs", "seconds", "total_seconds", "error",
                           "stdout", "cpu_seconds", "max_rss_kb", "n_payloads",
                           "isolation_level", "steps"})
_ERROR_KEYS = frozenset({"message", "exception_type", "traceback", "signal", "refused",
                         "payload_index"})


class WireError(ValueError):
    """A remote reply does not follow the format."""


def encode_outcome(outcome: Outcome) -> bytes:
    """The outcome as compact JSON bytes (``nan``/``inf`` outputs spelled as JSON extensions)."""
    error = outcome.error
    body = {
        "v": WIRE_VERSION,
        "status": outcome.status.value,
        "outputs": list(outcome.outputs),
        "seconds": list(outcome.seconds),
        "total_seconds": outcome.total_seconds,
        "error": None if error is None else {
            "message": error.message, "exception_type": error.exception_type,
            "traceback": list(error.traceback), "signal": error.signal,
            "refused": error.refused, "payload_index": error.payload_index},
        "stdout": outcome.stdout,
        "cpu_seconds": outcome.cpu_seconds,
        "max_rss_kb": outcome.max_rss_kb,
        "n_payloads": outcome.n_payloads,
        "isolation_level": outcome.isolation_level,
        "steps": list(outcome.steps),
    }
    return json.dumps(body, separators=(",", ":")).encode()


def decode_outcome(data: object, n_payloads: int, max_bytes: int) -> Outcome:
    """Decode and check a reply to a request of ``n_payloads`` payloads.

    Parameters
    ----------
    data
        What the worker returned (must be ``bytes``).
    n_payloads
        Payloads the orchestrator sent; the reply must be about that many.
    max_bytes
        Size cap, checked before parsing.

    Raises
    ------
    WireError
        When the reply is not exactly an outcome in this format.
    """
    body = _load(data, max_bytes)
    _exact_keys(body, _OUTCOME_KEYS, "outcome")
    if body["v"] != WIRE_VERSION:
        raise WireError(f"format version {body['v']!r}, expected {WIRE_VERSION}")
    try:
        status = OutcomeStatus(body["status"])
    except ValueError:
        raise WireError(f"unknown status {body['status']!r}") from None
    if body["n_payloads"] != n_payloads or type(body["n_payloads"]) is not int:
        raise WireError(f"reply for {body['n_payloads']!r} payloads, {n_payloads} were sent")
    outputs = body["outputs"]
    seconds = body["seconds"]
    steps = body["steps"]
    if type(outputs) is not list or type(seconds) is not list or type(steps) is not list:
        raise WireError("outputs, seconds and steps must be lists")
    if any(type(s) is not int or s < 0 for s in steps):
        raise WireError("steps must be non-negative integers")
    try:
        checked = tuple(check_value(v) for v in outputs)
    except ChannelError as exc:
        raise WireError(f"output outside the raw-output schema: {exc}") from None
    error = body["error"]
    try:
        return Outcome(
            status=status, outputs=checked,
            seconds=tuple(_duration(s) for s in seconds),
            total_seconds=_duration(body["total_seconds"]),
            error=None if error is None else _error(error),
            stdout=_text(body["stdout"]),
            cpu_seconds=None if body["cpu_seconds"] is None else _duration(body["cpu_seconds"]),
            max_rss_kb=_optional_count(body["max_rss_kb"]),
            n_payloads=n_payloads,
            isolation_level=_text(body["isolation_level"], 200),
            steps=tuple(steps),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"inconsistent outcome: {exc}") from None


def encode_report(report: IsolationReport) -> dict[str, Any]:
    """An isolation report as plain data."""
    return {"mode": report.mode, "launcher": report.launcher,
            "private_root": report.private_root,
            "layers": [{"layer": s.layer.value, "active": s.active, "detail": s.detail}
                       for s in report.layers]}


def decode_report(data: object) -> IsolationReport:
    """The inverse of :func:`encode_report`, checked.

    Raises
    ------
    WireError
        When ``data`` is not a report.
    """
    if not isinstance(data, Mapping):
        raise WireError("an isolation report must be an object")
    _exact_keys(data, frozenset({"mode", "launcher", "private_root", "layers"}), "report")
    layers = data["layers"]
    if type(layers) is not list:
        raise WireError("report layers must be a list")
    try:
        statuses = []
        for item in layers:
            if not isinstance(item, Mapping):
                raise WireError("a layer must be an object")
            _exact_keys(item, frozenset({"layer", "active", "detail"}), "layer")
            statuses.append(LayerStatus(Layer(item["layer"]), _flag(item["active"]),
                                        _text(item["detail"], 2000)))
        return IsolationReport(_text(data["mode"], 20), _text(data["launcher"], 20),
                               _flag(data["private_root"]), tuple(statuses))
    except ValueError as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"bad isolation report: {exc}") from None


def _load(data: object, max_bytes: int) -> dict[str, Any]:
    if type(data) is not bytes:
        raise WireError(f"a reply must be bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise WireError(f"reply of {len(data)} bytes exceeds the {max_bytes}-byte cap")
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"reply is not JSON: {exc}") from None
    if type(body) is not dict:
        raise WireError("a reply must be a JSON object")
    return body


def _exact_keys(body: Mapping[str, Any], keys: frozenset[str], what: str) -> None:
    if set(body) != keys:
        extra, missing = sorted(set(body) - keys), sorted(keys - set(body))
        raise WireError(f"{what} fields differ: unexpected {extra}, missing {missing}")


def _duration(value: object) -> float:
    """A duration (the channel's check: a finite non-negative number) or a WireError."""
    try:
        return as_seconds(value)
    except ChannelError as exc:
        raise WireError(str(exc)) from None


def _text(value: object, limit: int = MAX_TEXT) -> str:
    if type(value) is not str:
        raise WireError(f"expected text, got {type(value).__name__}")
    return value[:limit]


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _flag(value: object) -> bool:
    if type(value) is not bool:
        raise WireError(f"expected true or false, got {value!r}")
    return value


def _optional_count(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise WireError(f"expected a non-negative integer, got {value!r}")
    return value


def _error(value: object) -> ErrorInfo:
    if not isinstance(value, dict):
        raise WireError("error details must be an object")
    _exact_keys(value, _ERROR_KEYS, "error")
    lines = value["traceback"]
    if type(lines) is not list:
        raise WireError("traceback must be a list of lines")
    index = value["payload_index"]
    if index is not None and (type(index) is not int or index < 0):
        raise WireError(f"bad payload index {index!r}")
    return ErrorInfo(message=_text(value["message"]),
                     exception_type=_optional_text(value["exception_type"]),
                     traceback=tuple(_text(line, 2000) for line in lines[:200]),
                     signal=_optional_text(value["signal"]),
                     refused=_optional_text(value["refused"]), payload_index=index)
