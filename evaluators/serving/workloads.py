"""Request traces and windows of them, rescaled to a chosen request rate or load.

A trace is a CSV with the columns ``arrived_at`` (seconds), ``num_prefill_tokens``
and ``num_decode_tokens`` (Vidur's format; the Splitwise conversation and code
traces bundled as ``serving:conv`` and ``serving:code``). A *window* is a run of
consecutive requests; its arrival times are shifted to start at 0 and stretched
so that its mean rate becomes the target (the burstiness of the trace is kept).

The target is a rate in requests per second, or a *load*: a fraction of the
window's saturation throughput on the scenario's server (:func:`capacity`: every
request present at time 0, served FCFS; completed requests per second).

Requests longer than the server's context (``max_request_tokens``) are truncated
as a server would: the output first to ``limit − 1`` tokens, then the prompt.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluators.base import InstanceError
from evaluators.serving.engine import simulate
from evaluators.serving.instance import Scenario, ServingInstance

COLUMNS = ("arrived_at", "num_prefill_tokens", "num_decode_tokens")


@dataclass(frozen=True, eq=False)
class Trace:
    """A whole trace file, in arrival order."""

    path: Path
    arrival: np.ndarray
    prompt: np.ndarray
    output: np.ndarray

    @property
    def size(self) -> int:
        """Number of requests."""
        return int(self.arrival.size)


def read_trace(path: str | Path) -> Trace:
    """Read a trace CSV.

    Raises
    ------
    InstanceError
        For a missing column, a non-numeric or negative value, token counts below 1,
        or arrivals going back in time — naming the file and the line.
    """
    path = Path(path)
    arrival: list[float] = []
    prompt: list[int] = []
    output: list[int] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InstanceError(path, "empty file", line=1)
            header = [h.strip() for h in header]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise InstanceError(path, f"missing column {missing[0]!r} (header: "
                                    f"{','.join(header)})", line=1)
            cols = [header.index(c) for c in COLUMNS]
            for line, row in enumerate(reader, start=2):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) < len(header):
                    raise InstanceError(path, f"expected {len(header)} fields, got {len(row)}",
                                        line=line)
                try:
                    t = float(row[cols[0]])
                    p, d = (_tokens(row[c]) for c in cols[1:])
                except ValueError as exc:
                    raise InstanceError(path, str(exc), line=line) from None
                if not np.isfinite(t) or t < 0:
                    raise InstanceError(path, f"arrival time {row[cols[0]]!r} must be a finite "
                                        "number >= 0", line=line)
                if arrival and t < arrival[-1]:
                    raise InstanceError(path, f"arrival time {t} is before the previous "
                                        f"request's {arrival[-1]}", line=line)
                arrival.append(t)
                prompt.append(p)
                output.append(d)
    except OSError as exc:
        raise InstanceError(path, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InstanceError(path, f"not UTF-8 text: {exc}") from None
    if not arrival:
        raise InstanceError(path, "no requests")
    return Trace(path, np.asarray(arrival), np.asarray(prompt, dtype=np.int64),
                 np.asarray(output, dtype=np.int64))


def _tokens(text: str) -> int:
    value = float(text)
    if not value.is_integer() or value < 1:
        raise ValueError(f"token count {text.strip()!r} must be a whole number >= 1")
    return int(value)


def truncate(prompt: np.ndarray, output: np.ndarray, limit: int) -> tuple[np.ndarray,
                                                                           np.ndarray, int]:
    """Clip requests to ``limit`` tokens: output to ``limit − 1``, then the prompt.

    Returns the clipped arrays and how many requests were changed.
    """
    out = np.minimum(output, limit - 1)
    pr = np.minimum(prompt, limit - out)
    changed = int(np.count_nonzero((out != output) | (pr != prompt)))
    return pr, out, changed


def rescale(arrival: np.ndarray, rate: float) -> np.ndarray:
    """Shift to start at 0 and stretch to a mean rate of ``rate`` requests per second."""
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    shifted = np.asarray(arrival, dtype=float) - float(arrival[0])
    n = shifted.size
    if n < 2 or shifted[-1] <= 0:
        return shifted
    return shifted * ((n - 1) / shifted[-1] / rate)


def capacity(instance: ServingInstance) -> float:
    """Saturation throughput (requests/s): all requests at time 0, served FCFS."""
    payload = instance.payload()
    payload["arrival"] = [0.0] * instance.size
    sim = simulate(payload, _fcfs)
    return instance.size / max(sim.finish)


def _fcfs(request: object, state: object) -> float:
    return -float(request.id)  # type: ignore[attr-defined]


def at_rate(name: str, arrival: np.ndarray, prompt: np.ndarray, output: np.ndarray,
            scenario: Scenario, *, rate: float | None = None, load: float | None = None,
            meta: Mapping[str, object] | None = None) -> ServingInstance:
    """An instance of these requests at ``rate`` requests/s or at ``load`` × capacity."""
    if (rate is None) == (load is None):
        raise ValueError("give exactly one of rate and load")
    pr, out, clipped = truncate(prompt, output, scenario.server.max_request_tokens)
    info = dict(meta or {})
    info["truncated"] = clipped
    if load is not None:
        if not load > 0:
            raise ValueError(f"load must be positive, got {load}")
        probe = ServingInstance(tuple(np.zeros(len(pr)).tolist()), tuple(pr.tolist()),
                                tuple(out.tolist()), scenario, name)
        info["capacity"] = cap = capacity(probe)
        info["load"] = load
        rate = load * cap
    assert rate is not None
    info["rate"] = rate
    arr = rescale(arrival, rate)
    label = f"{name}@{rate:.3g}rps"
    info.setdefault("class", f"{name.split('[')[0]}@{rate:.3g}rps")
    return ServingInstance(tuple(arr.tolist()), tuple(pr.tolist()), tuple(out.tolist()),
                           scenario, label, info)


def window_starts(size: int, window: int, count: int,
                  span: tuple[float, float] = (0.0, 1.0)) -> list[int]:
    """``count`` evenly spaced starts of ``window`` requests inside ``span`` of the trace.

    Raises
    ------
    ValueError
        When the span is not within [0, 1] or holds fewer than ``window`` requests.
    """
    lo_f, hi_f = span
    if not 0 <= lo_f < hi_f <= 1:
        raise ValueError(f"span {span} must satisfy 0 <= start < end <= 1")
    lo, hi = round(lo_f * size), round(hi_f * size)
    if window < 1 or count < 1:
        raise ValueError("window and count must be >= 1")
    if hi - lo < window:
        raise ValueError(f"span {span} holds {hi - lo} requests, fewer than a window of "
                         f"{window}")
    last = hi - window
    if count == 1:
        return [lo]
    return sorted({round(lo + k * (last - lo) / (count - 1)) for k in range(count)})


def trace_windows(trace: Trace, scenario: Scenario, *, window: int, count: int = 1,
                  span: tuple[float, float] = (0.0, 1.0), rates: Sequence[float] = (),
                  loads: Sequence[float] = ()) -> list[ServingInstance]:
    """Windows of ``trace`` at every rate (req/s) and every load (× capacity)."""
    if not rates and not loads:
        raise ValueError("give at least one rate or load")
    stem = trace.path.stem.removeprefix("splitwise_")
    out = []
    for start in window_starts(trace.size, window, count, span):
        sl = slice(start, start + window)
        name = f"{stem}[{start}:{start + window}]"
        meta = {"trace": str(trace.path), "start": start, "window": window}
        for rate in rates:
            out.append(at_rate(name, trace.arrival[sl], trace.prompt[sl], trace.output[sl],
                               scenario, rate=rate, meta=meta))
        for load in loads:
            out.append(at_rate(name, trace.arrival[sl], trace.prompt[sl], trace.output[sl],
                               scenario, load=load, meta=meta))
    return out
