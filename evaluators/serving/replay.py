"""Trusted side of a serving evaluation: replay a candidate's decision log, or run a policy.

The sandbox child simulates the server with the candidate's ``priority`` and
returns only its *decision log* (:func:`evaluators.serving.engine.decision_log`):
a header and the request picked at every decision between two or more requests.
The trusted side re-runs the same deterministic simulator taking each pick from
the log. The simulator enforces every budget itself (token budget, batch cap,
KV blocks and watermark, arrival before admission), so a log can only choose an
*order* — which is all a priority function may do — and every latency the score
is computed from is the trusted replay's own. A log whose pick is not eligible
at its decision, or that is too short or too long, is rejected with a typed
:class:`~evaluators.base.Failure`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from evaluators.base import Failure, FailureReason
from evaluators.serving.decisions import HEADER, LOG_FORMAT, Priority, ReplayError
from evaluators.serving.engine import decision_log, replay, simulate
from evaluators.serving.instance import ServerConfig, ServingInstance
from evaluators.serving.result import SimulationResult

_REASONS = {
    "range": FailureReason.OUT_OF_RANGE,
    "ineligible": FailureReason.INFEASIBLE,
    "duplicate": FailureReason.DUPLICATE,
    "short": FailureReason.MISSING,
    "long": FailureReason.WRONG_LENGTH,
}


@dataclass(frozen=True, eq=False)
class Schedule(Sequence[int]):
    """A validated decision log together with the simulation it replays to.

    It is the *solution* of a serving instance: a sequence of ints (the raw log)
    that also carries the trusted :class:`SimulationResult`, so scoring does not
    replay twice.
    """

    log: tuple[int, ...]
    result: SimulationResult
    chunk_size: int
    fingerprint: str

    def __len__(self) -> int:
        return len(self.log)

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        return self.log[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self.log)

    @property
    def picks(self) -> tuple[int, ...]:
        """The decisions, without the header."""
        return self.log[HEADER:]


def run_policy(instance: ServingInstance, priority: Priority,
               server: ServerConfig | None = None) -> Schedule:
    """Simulate ``instance`` with ``priority`` in this process (trusted policies only)."""
    srv = server or instance.scenario.server
    sim = simulate(instance.payload(srv), priority)
    return Schedule(tuple(decision_log(sim)), SimulationResult.from_simulator(sim),
                    srv.chunk_size, instance.fingerprint)


def validate_log(instance: ServingInstance, raw: object) -> Schedule | Failure:
    """Check a raw decision log and replay it on the instance's own server.

    Checks, in order: a flat sequence of exact integers; the header (format,
    chunk size equal to the scenario's, request count, pick count equal to the
    log's length); every pick a request index; then the replay, pick by pick;
    finally the iteration count the log claims.
    """
    if isinstance(raw, np.ndarray):
        if raw.ndim != 1:
            return Failure(FailureReason.NOT_A_SEQUENCE, f"array has {raw.ndim} dimensions")
        values: list[object] = raw.tolist()
    elif isinstance(raw, (list, tuple)):
        values = list(raw)
    else:
        return Failure(FailureReason.NOT_A_SEQUENCE,
                       f"expected a flat list of integers, got {type(raw).__name__}")
    if len(values) < HEADER:
        return Failure(FailureReason.WRONG_LENGTH,
                       f"a decision log has a {HEADER}-number header; got {len(values)} numbers")
    ints: list[int] = []
    for pos, v in enumerate(values):
        # type() rather than isinstance(): bool and int subclasses are refused.
        if type(v) is int or isinstance(v, np.integer):
            ints.append(int(v))
        elif isinstance(v, float) and not np.isfinite(v):
            return Failure(FailureReason.NOT_FINITE, f"position {pos}: {v!r}")
        else:
            return Failure(FailureReason.NON_INTEGER,
                           f"position {pos}: {type(v).__name__} is not an integer")
    fmt, chunk, n, iterations, count = ints[:HEADER]
    picks = ints[HEADER:]
    expected_chunk = instance.scenario.server.chunk_size
    if fmt != LOG_FORMAT:
        return Failure(FailureReason.INFEASIBLE, f"unknown log format {fmt} (expected "
                       f"{LOG_FORMAT})")
    if chunk != expected_chunk:
        return Failure(FailureReason.INFEASIBLE, f"the log was made with chunk size {chunk}; "
                       f"the scenario's batch builder uses {expected_chunk}")
    if n != instance.size:
        return Failure(FailureReason.WRONG_LENGTH, f"the log is for {n} requests; the instance "
                       f"has {instance.size}")
    if count != len(picks):
        return Failure(FailureReason.WRONG_LENGTH, f"the header announces {count} picks; the "
                       f"log holds {len(picks)}")
    bad = next((k for k, r in enumerate(picks) if not 0 <= r < n), None)
    if bad is not None:
        return Failure(FailureReason.OUT_OF_RANGE, f"pick {bad}: request {picks[bad]} not in "
                       f"0..{n - 1}")
    try:
        sim = replay(instance.payload(), picks)
    except ReplayError as exc:
        return Failure(_REASONS[exc.kind], str(exc))
    if sim.it != iterations:
        return Failure(FailureReason.INFEASIBLE, f"the log claims {iterations} iterations; its "
                       f"replay takes {sim.it}")
    return Schedule(tuple(ints), SimulationResult.from_simulator(sim), chunk, instance.fingerprint)
