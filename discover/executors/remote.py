"""What runs inside a Dask worker process: one sandbox pool per process, and the tasks.

The Dask worker never executes candidate code itself. Each task hands the
candidate to a :class:`sandbox.SandboxPool` that lives in the worker process
(created on first use, one sandbox worker per Dask thread), exactly as on the
orchestrator's own machine, and returns the sandbox's outcome in the fixed
format of :mod:`discover.executors.wire`: JSON bytes, never a pickled object.

Tasks are idempotent — evaluating the same request twice gives an equivalent
outcome and changes nothing anywhere — so the scheduler may re-run the task
of a worker that died on another one; the orchestrator records each result
once, when its future completes.

Workers need ``discover`` installed (the same version as the orchestrator)
and the sandbox's prerequisites (bubblewrap for full isolation); see
``docs/distributed.md``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import metadata

from distributed import WorkerPlugin, get_worker

from discover.executors.astlock import serialise_ast_parse
from discover.executors.wire import WIRE_VERSION, encode_outcome, encode_report
from evaluators.base import CandidateSpec
from sandbox import Limits, PayloadSet, SandboxPool

PLUGIN_NAME = "discover-sandbox"

_pools: dict[tuple[str, Limits, tuple[str, ...]], SandboxPool] = {}
_packages: dict[str, tuple[str, ...]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class SandboxRequest:
    """One candidate on one batch of payloads, as sent to a worker.

    Travels from the orchestrator to the worker (the trusted direction); the
    reply is plain JSON.
    """

    code: str
    spec: CandidateSpec
    payloads: PayloadSet
    time_limit: float
    check: bool
    isolation: str
    limits: Limits
    problem: str = ""
    """The problem spec, resolved on the worker (empty: the built-in packages only)."""
    count_steps: bool = False
    """Count the candidate's steps per payload (:class:`sandbox.steps.StepCounter`)."""
    step_limit: int | None = None
    """Stop the candidate once its steps on the batch exceed this (with ``count_steps``)."""

    def __post_init__(self) -> None:
        if not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive, got {self.time_limit!r}")


def _threads() -> int:
    """Dask threads of the current worker (1 outside a worker)."""
    try:
        return max(1, int(get_worker().state.nthreads))
    except ValueError:  # not inside a Dask worker (direct calls in tests)
        return 1


def harness_packages(problem: str) -> tuple[str, ...]:
    """Packages the sandbox binds for problem spec ``problem``, resolved in this process.

    Resolving the spec here (not trusting a package list from the wire) is what
    makes a ``path/to/problem.py`` spec importable on the worker too.
    """
    if not problem:
        return ("evaluators",)
    if problem not in _packages:
        from evaluators.registry import get_problem

        _packages[problem] = get_problem(problem).candidate_spec.sandbox_packages
    return _packages[problem]


def worker_pool(isolation: str, limits: Limits, problem: str = "") -> SandboxPool:
    """This process's sandbox pool for ``isolation``, ``limits`` and the problem spec
    ``problem``, started on first use."""
    serialise_ast_parse()  # the pool pre-checks candidates in several Dask threads
    packages = harness_packages(problem)
    key = (isolation, limits, packages)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = SandboxPool(workers=_threads(), isolation=isolation,  # type: ignore[arg-type]
                               limits=limits, harness_packages=packages)
            _pools[key] = pool
    pool.start()  # idempotent and locked inside the pool
    return pool


def evaluate_request(request: SandboxRequest) -> bytes:
    """Run ``request`` in this process's sandbox; the outcome as wire bytes."""
    pool = worker_pool(request.isolation, request.limits, request.problem)
    outcome = pool.run(request.code, request.spec, request.payloads, request.time_limit,
                       check=request.check, count_steps=request.count_steps,
                       step_limit=request.step_limit)
    return encode_outcome(outcome)


def hello(isolation: str, limits: Limits, problem: str = "") -> bytes:
    """Start this worker's sandbox and describe it: versions and isolation report.

    Raises
    ------
    sandbox.SandboxUnavailable
        In strict mode, when the worker lacks an isolation layer.
    """
    pool = worker_pool(isolation, limits, problem)
    try:
        version = metadata.version("discover")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        version = "unknown"
    body = {"wire": WIRE_VERSION, "discover": version,
            "report": encode_report(pool.isolation_report)}
    return json.dumps(body).encode()


def close_pools() -> None:
    """Stop every sandbox pool of this process (worker shutdown)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


class SandboxPlugin(WorkerPlugin):
    """Closes the worker's sandbox pools when the Dask worker shuts down.

    (A killed worker cannot run this; its sandbox workers die with it, since
    bubblewrap runs them with ``--die-with-parent``, and the next pool to start
    on the machine removes the scratch space left behind.)
    """

    name = PLUGIN_NAME

    def teardown(self, worker: object) -> None:
        """Called by Dask as the worker closes."""
        close_pools()
