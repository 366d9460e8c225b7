"""The Dask executor: candidates in the sandboxes of a Dask cluster, references on its workers.

``--executor dask://HOST:PORT`` connects to a running scheduler (a laptop's,
a Slurm allocation's through dask-jobqueue, a Kubernetes deployment's);
``--executor dask-local:N`` starts a ``LocalCluster`` of N single-threaded
worker processes on this machine for the run. Either way each Dask worker
process keeps its own warm sandbox pool and never runs candidate code itself
(:mod:`discover.executors.remote`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from types import TracebackType
from typing import Any

import dask
from distributed import Client, LocalCluster
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker

from discover.executors.astlock import serialise_ast_parse
from discover.executors.base import OrderedMap
from discover.executors.dask_pool import RemoteSandboxPool
from discover.executors.errors import ExecutorError, ExecutorLost
from discover.executors.remote import PLUGIN_NAME, SandboxPlugin
from discover.executors.spec import ExecutorKind, ExecutorSpec
from sandbox import Limits, SandboxPool

_CLIENT_LOGGERS = ("distributed.client", "distributed.core", "distributed.comm",
                   "distributed.batched",
                   # A submission sent after the scheduler died fails inside a Tornado
                   # callback, which Tornado logs under its own name.
                   "tornado.application")


class _QuietWhenLost(logging.Filter):
    """Drops Dask's reconnection tracebacks once the run has reported the loss clearly,
    and a closed connection's traceback at any time: the loss is reported by the run
    itself (``ExecutorLost``), and Dask may log it before the run has noticed."""

    def __init__(self, executor: DaskExecutor) -> None:
        super().__init__()
        self.executor = executor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.executor.quiet or self.executor.lost is not None:
            return False
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, CommClosedError)


class DaskExecutor:
    """Evaluate candidates on a Dask cluster.

    Parameters
    ----------
    spec
        ``dask://HOST:PORT`` or ``dask-local:N``.
    isolation
        Sandbox isolation mode on the workers.
    limits
        Per-child resource limits on the workers.
    connect_timeout
        Seconds to reach the scheduler.
    worker_timeout
        Seconds to wait for the first worker to join.
    no_worker_timeout
        Seconds evaluations may wait on a cluster without workers before the
        run stops as interrupted.

    Raises
    ------
    ExecutorError
        When the scheduler cannot be reached or no worker joins in time.
    """

    def __init__(self, spec: ExecutorSpec, *, isolation: str = "auto",
                 limits: Limits | None = None, problem: str = "",
                 connect_timeout: float = 30.0,
                 worker_timeout: float = 60.0, no_worker_timeout: float = 120.0) -> None:
        if spec.kind is ExecutorKind.LOCAL:
            raise ValueError("DaskExecutor needs a dask://HOST:PORT or dask-local:N spec")
        serialise_ast_parse()
        self._spec = spec
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None
        self.quiet = False
        self._filter = _QuietWhenLost(self)
        try:
            address = self._address(connect_timeout)
            try:
                self._client = Client(address, timeout=connect_timeout, set_as_default=False)
            except OSError as exc:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {address} ({exc}); start one with "
                    "`dask scheduler` and workers with `dask worker ADDRESS`") from None
            try:
                self._client.wait_for_workers(1, timeout=worker_timeout)
            except TimeoutError:
                raise ExecutorError(f"no Dask worker joined the scheduler at {address} within "
                                    f"{worker_timeout:g} s") from None
            self._client.register_plugin(SandboxPlugin(), name=PLUGIN_NAME)
        except BaseException:
            self.close()
            raise
        for name in _CLIENT_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)
        self._pool = RemoteSandboxPool(self._client, isolation, limits, problem=problem,
                                       no_worker_timeout=no_worker_timeout)

    def _address(self, connect_timeout: float) -> str:
        if self._spec.kind is ExecutorKind.DASK:
            assert self._spec.address is not None
            return self._spec.address
        try:
            # The scheduler's HTTP server (health, metrics, a dashboard if bokeh is
            # installed) takes a free loopback port: 8787 may belong to another cluster.
            # Dask's statistical profiler samples each worker's threads every 10 ms;
            # on a small machine that competes with the sandboxes for the cores.
            # (The nannies hand this configuration to the worker processes.)
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = LocalCluster(
                    n_workers=self._spec.workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    silence_logs=logging.ERROR, timeout=connect_timeout)
        except Exception as exc:
            raise ExecutorError(f"cannot start a local Dask cluster: {exc}") from exc
        return str(self._cluster.scheduler_address)

    @property
    def name(self) -> str:
        """The ``--executor`` text."""
        return str(self._spec)

    @property
    def lost(self) -> str | None:
        """Why the cluster was declared lost, if it was."""
        pool = getattr(self, "_pool", None)
        return pool.lost if pool is not None else None

    @property
    def client(self) -> Client:
        """The Dask client."""
        assert self._client is not None
        return self._client

    @property
    def pool(self) -> SandboxPool:
        """The remote sandbox pool."""
        return self._pool

    @property
    def map_ordered(self) -> OrderedMap | None:
        """Solve trusted work (exact references) as Dask tasks."""
        return self._map_ordered

    def _map_ordered(self, function: Callable[[Any], Any], items: Sequence[Any]
                     ) -> Iterator[Any]:
        client = self.client
        if self._pool.lost is not None:
            raise ExecutorLost(self._pool.lost)
        futures = client.map(function, list(items), pure=False)
        try:
            for future in futures:
                try:
                    yield future.result()
                except (CancelledError, KilledWorker) as exc:
                    self.quiet = True
                    raise ExecutorLost(f"reference computation lost on the Dask cluster at "
                                       f"{self._pool.address}: {exc}") from None
        finally:
            with contextlib.suppress(Exception):
                client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        """Stop watching, disconnect, and stop the local cluster if this executor started one."""
        pool = getattr(self, "_pool", None)
        if pool is not None:
            self.quiet = self.quiet or pool.lost is not None
            pool.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close(timeout=10)
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close(timeout=30)
        for name in _CLIENT_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)

    def __enter__(self) -> DaskExecutor:
        try:
            self._pool.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
