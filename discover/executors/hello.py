"""Starting a Dask cluster's sandboxes: each worker's hello, and the isolation a run records.

Every worker starts its own sandbox pool (:func:`discover.executors.remote.hello`)
and answers with its result-format version and isolation report. A worker
speaking another format is refused (it runs another discover); the run records
the weakest isolation of all workers, held against the isolation mode here.
"""

from __future__ import annotations

import json
import uuid
import warnings

from distributed import Client

from discover.executors import remote
from discover.executors.errors import ExecutorError
from discover.executors.wire import WIRE_VERSION, WireError, decode_report
from sandbox import IsolationReport, Limits, SandboxError, SandboxUnavailable, SandboxWarning


def hello_reports(client: Client, isolation: str, limits: Limits, problem: str,
                  start_timeout: float, address: str) -> dict[str, IsolationReport]:
    """Start every current worker's sandbox; its isolation report, by worker address.

    Parameters
    ----------
    client
        The connected Dask client.
    isolation, limits, problem
        What each worker's sandbox pool runs with (see
        :class:`~discover.executors.dask_pool.RemoteSandboxPool`).
    start_timeout
        Seconds each worker may take to answer.
    address
        The scheduler's address, for messages.

    Raises
    ------
    ExecutorError
        When a worker runs an incompatible discover or cannot start its sandbox,
        or there is no worker.
    """
    workers = sorted(client.nthreads())
    futures = {w: client.submit(remote.hello, isolation, limits, problem,
                                workers=[w], allow_other_workers=False, pure=False,
                                key=f"discover-hello-{uuid.uuid4().hex}")
               for w in workers}
    reports: dict[str, IsolationReport] = {}
    for worker, future in futures.items():
        try:
            reply = future.result(timeout=start_timeout)
        except SandboxError:
            raise
        except Exception as exc:
            raise ExecutorError(f"Dask worker {worker} could not start its sandbox: "
                                f"{type(exc).__name__}: {exc}") from exc
        reports[worker] = check_hello(worker, reply)
    if not reports:
        raise ExecutorError(f"the Dask scheduler at {address} has no workers")
    return reports


def weakest_isolation(reports: dict[str, IsolationReport], isolation: str) -> IsolationReport:
    """The isolation the run records: the weakest any worker offers, held against the mode.

    Called directly by the pool's ``start()``: the warnings name its caller.

    Raises
    ------
    SandboxUnavailable
        In strict mode, when a worker lacks an isolation layer.
    """
    weakest = min(reports.values(), key=lambda r: (r.complete, len(r.active)))
    if isolation == "strict" and not weakest.complete:  # workers refuse first
        raise SandboxUnavailable("strict isolation unavailable on a Dask worker:\n"
                                 + weakest.summary())
    if isolation == "auto":
        for status in weakest.missing:
            warnings.warn(f"Dask workers' sandbox runs without {status.layer.value}: "
                          f"{status.detail}", SandboxWarning, stacklevel=4)
    levels = {w: r.level for w, r in reports.items()}
    if len(set(levels.values())) > 1:
        warnings.warn(f"Dask workers differ in sandbox isolation: {levels}",
                      SandboxWarning, stacklevel=4)
    return weakest


def check_hello(worker: str, reply: object) -> IsolationReport:
    """The isolation report in ``worker``'s hello ``reply``, its format version checked.

    Raises
    ------
    ExecutorError
        When the reply is malformed or speaks another result format.
    """
    try:
        if type(reply) is not bytes:
            raise WireError("hello reply must be bytes")
        body = json.loads(reply)
        if not isinstance(body, dict) or body.get("wire") != WIRE_VERSION:
            raise ExecutorError(
                f"Dask worker {worker} speaks result format "
                f"{body.get('wire') if isinstance(body, dict) else '?'}, this discover "
                f"speaks {WIRE_VERSION}: install the same discover version on the workers")
        return decode_report(body.get("report"))
    except (ValueError, WireError) as exc:
        raise ExecutorError(f"Dask worker {worker} sent a malformed hello: {exc}") from None
