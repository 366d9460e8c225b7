"""A sandbox pool whose workers are the sandboxes of a Dask cluster.

:class:`RemoteSandboxPool` has the :class:`sandbox.SandboxPool` interface
(``submit``/``run``, ``isolation_level``), so the cascade, the validation
step and :func:`sandbox.evaluate` use it unchanged: each evaluation becomes a
Dask task that runs the candidate in the sandbox of whichever worker takes it
(:mod:`discover.executors.remote`), and the outcome comes back as checked JSON
(:mod:`discover.executors.wire`) to be validated and scored here.

Faults:

* a worker that dies mid-evaluation: the scheduler re-runs its tasks on the
  other workers (they are idempotent); the caller's future completes once;
* a worker frozen mid-evaluation (it keeps its tasks and stays in the cluster):
  an evaluation stuck on it is started again on another worker, and once its
  heartbeat has stopped (:mod:`discover.executors.heartbeats`) new evaluations
  are kept off it, and whatever it still holds is started elsewhere at once;
* the scheduler lost (or every worker gone for ``no_worker_timeout`` seconds):
  every pending and later evaluation fails with :class:`ExecutorLost`, which
  the run turns into an interrupted, resumable run.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any, NoReturn

from distributed import Client
from distributed import Future as DaskFuture
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker

from discover.executors import remote
from discover.executors.errors import ExecutorError, ExecutorLost, PoolClosed
from discover.executors.heartbeats import Heartbeats, worker_info
from discover.executors.hello import hello_reports, weakest_isolation
from discover.executors.stragglers import Task, stragglers
from discover.executors.wire import WireError, decode_outcome
from evaluators.base import CandidateSpec
from sandbox import (
    ErrorInfo,
    Limits,
    Outcome,
    OutcomeStatus,
    SandboxError,
    SandboxPool,
)

DISCONNECTED_GRACE = 10.0
"""Seconds an evaluation may wait on a client that is reconnecting before it is declared lost."""
WATCH_INTERVAL = 0.5
"""Seconds between the watchdog's looks at the cluster (health, stragglers)."""
FETCH_TIMEOUT = 5.0
"""Seconds one attempt to fetch a finished task's result may take (see ``_fetch``)."""
RECOMPUTE_PASSES = 5
"""Times an evaluation's result may be lost with its worker and computed again."""


class RemoteSandboxPool(SandboxPool):
    """Evaluate candidates in the sandboxes of a Dask cluster's workers.

    Parameters
    ----------
    client
        A connected Dask client (owned by the caller).
    isolation
        Isolation mode each worker's sandbox pool runs with.
    limits
        Per-child resource limits on the workers.
    problem
        The problem spec (:func:`evaluators.registry.spec_of`); each worker
        resolves it to find (and bind) the problem's harness package.
    no_worker_timeout
        Seconds the cluster may have no worker while evaluations wait before
        they fail with :class:`ExecutorLost`.
    start_timeout
        Seconds the workers may take to start their sandboxes.
    speculate_after
        An evaluation running this many seconds, and four times longer than the
        median evaluation, is started again on another worker (a slow or stuck
        worker must not stall the loop); so is, at once, one waiting on a worker
        whose heartbeat has stopped for this long, and new evaluations avoid such
        a worker. ``None`` switches all of this off.
    """

    def __init__(self, client: Client, isolation: str = "auto", limits: Limits | None = None,
                 *, problem: str = "", no_worker_timeout: float = 120.0,
                 start_timeout: float = 120.0,
                 speculate_after: float | None = 5.0) -> None:
        # The base class's local worker machinery is never started; only its
        # validated settings (isolation, limits) and its interface are used.
        super().__init__(workers=1, isolation=isolation, limits=limits,  # type: ignore[arg-type]
                         start_timeout=start_timeout)
        self._client = client
        self.problem = problem
        self.address = str(client.scheduler.address if client.scheduler is not None else "?")
        self.no_worker_timeout = no_worker_timeout
        self._pending: dict[str, Task] = {}
        """Running Dask tasks by key (a speculated evaluation has two keys)."""
        self._pending_lock = threading.Lock()
        self.speculate_after = speculate_after
        self._durations: deque[float] = deque(maxlen=64)
        self._heartbeats = Heartbeats(speculate_after or 1.0)
        self.speculated = 0
        """How many evaluations were started a second time on another worker."""
        # Results are fetched off Dask's single callback thread: a fetch from a frozen
        # worker blocks until the scheduler gives up on it, and must not block the others.
        self._fetchers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dask-fetch")
        self._lost: str | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self.worker_levels: dict[str, str] = {}
        """Isolation level of each worker seen at start, by worker address."""

    # ----------------------------------------------------------------- set-up
    def start(self) -> None:
        """Start every current worker's sandbox and read its isolation (idempotent).

        Raises
        ------
        SandboxUnavailable
            In strict mode, when a worker lacks an isolation layer.
        ExecutorError
            When a worker runs an incompatible discover or cannot start its sandbox.
        """
        with self._lock:
            if self._state == "running":
                return
            if self._state == "closed":
                raise SandboxError("the pool is closed")
            reports = hello_reports(self._client, self.isolation, self.limits, self.problem,
                                    self.start_timeout, self.address)
            self.worker_levels = {w: r.level for w, r in reports.items()}
            self._report = weakest_isolation(reports, self.isolation)
            self._state = "running"
            self._watchdog = threading.Thread(target=self._watch, name="dask-sandbox-watchdog",
                                              daemon=True)
            self._watchdog.start()

    # --------------------------------------------------------------- running
    def submit(self, code: str, spec: CandidateSpec,
               payloads: Any, time_limit: float, *, check: bool = True,
               count_steps: bool = False, step_limit: int | None = None) -> Future[Outcome]:
        """Queue one candidate on the cluster (see :meth:`sandbox.SandboxPool.submit`).

        The returned future fails with :class:`ExecutorLost` when the cluster is gone.
        """
        # The pre-check is cheap and local: a rejected candidate costs no round trip.
        pset, future = self._accept(code, spec, payloads, time_limit, check, count_steps,
                                    step_limit)
        if future.done():
            return future
        self.start()
        if self._lost is None and self._client.status != "running":
            self._declare_lost(f"lost the connection to the Dask scheduler (client "
                               f"{self._client.status})")
        if self._lost is not None:
            future.set_exception(ExecutorLost(self._lost))
            return future
        request = remote.SandboxRequest(code, spec, pset, float(time_limit), check,
                                        self.isolation, self.limits, self.problem,
                                        count_steps, step_limit)
        self._launch(Task(future, request))
        return future

    def _launch(self, task: Task, workers: list[str] | None = None) -> None:
        """Start (a copy of) ``task`` on the cluster, optionally on given workers only."""
        key = f"discover-eval-{uuid.uuid4().hex}"
        placement: dict[str, Any] = {}
        if workers is not None:
            placement = {"workers": workers, "allow_other_workers": False}
        elif self._heartbeats.silent and (responsive := self._heartbeats.responsive()):
            # To the scheduler a frozen worker looks idle once its tasks are cancelled, and
            # it would get new ones, each stuck until speculated. Loose: should the
            # responsive workers all leave, any worker will do.
            placement = {"workers": responsive, "allow_other_workers": True}
        dask_future = self._client.submit(remote.evaluate_request, task.request, key=key,
                                          pure=False, **placement)
        with self._pending_lock:
            task.dask_futures.append(dask_future)
            self._pending[key] = task
        dask_future.add_done_callback(self._complete)

    def _complete(self, dask_future: DaskFuture) -> None:
        """Runs on Dask's callback thread when a task ends, however it ended."""
        key = str(dask_future.key)
        with self._pending_lock:
            task = self._pending.get(key)
            if task is None or task.future.done():  # failed by the watchdog/close(), or lost
                self._pending.pop(key, None)
                return
        if dask_future.status == "finished":
            task.finished_at = time.monotonic()
        try:
            self._fetchers.submit(self._finish, key, task, dask_future)
        except RuntimeError:  # closing
            self._settle(task, exception=self._closed_error())

    def _finish(self, key: str, task: Task, dask_future: DaskFuture) -> None:
        """Fetch and decode one copy's result; the first good one completes the caller."""
        try:
            outcome = self._outcome_of(dask_future, task.request.payloads.count,
                                       task.future.done)
        except BaseException as exc:  # every path must complete the caller's future
            with self._pending_lock:
                self._pending.pop(key, None)
                siblings = [k for k in task.keys if k in self._pending]
            if siblings and not isinstance(exc, ExecutorLost):
                return  # the other copy still runs and decides
            self._settle(task, exception=exc)
        else:
            with self._pending_lock:
                self._pending.pop(key, None)
            self._durations.append(outcome.total_seconds)
            self._settle(task, outcome=outcome)

    def _settle(self, task: Task, outcome: Outcome | None = None,
                exception: BaseException | None = None) -> None:
        """Complete the caller's future once, and cancel any copy still running."""
        with self._pending_lock:
            if task.future.done():
                return
            if exception is not None:
                task.future.set_exception(exception)
            else:
                task.future.set_result(outcome)  # type: ignore[arg-type]
            others = [f for f in task.dask_futures
                      if self._pending.pop(str(f.key), None) is not None]
        for other in others:
            with contextlib.suppress(Exception):
                other.cancel()

    def _outcome_of(self, dask_future: DaskFuture, count: int,
                    settled: Callable[[], bool]) -> Outcome:
        # A result can be lost with the worker that held it (status "lost"); the
        # scheduler then computes it again elsewhere. exception() waits for that, and
        # returns None once the copy has finished: fetch again. Each pass needs a
        # worker to die, so a few passes suffice before giving up.
        for _ in range(RECOMPUTE_PASSES):
            status = dask_future.status
            if status in ("finished", "cancelled"):
                break
            try:
                error = dask_future.exception()
            except CancelledError:
                continue  # read as "cancelled" on the next pass
            except (CommClosedError, OSError) as exc:
                self._lost_connection(exc)
            if error is not None:
                self._raise_failure(error)
        else:
            raise ExecutorError(f"the result of an evaluation was lost {RECOMPUTE_PASSES} "
                                "times with the Dask workers holding it")
        if status == "finished":
            reply = self._fetch(dask_future, settled)
            # Bounded by the sandbox's own output cap (JSON costs ~3x the packed frames).
            cap = 4 * self.limits.max_output_bytes + 4 * self.limits.max_stdout_bytes + 2**20
            try:
                return decode_outcome(reply, count, cap)
            except WireError as exc:
                return Outcome(OutcomeStatus.CRASHED, error=ErrorInfo(
                    f"the Dask worker's reply was rejected: {exc}"), n_payloads=count,
                    isolation_level=self.isolation_level)
        # cancelled
        if self._state == "closed":
            raise self._closed_error()
        self._lost_connection()

    def _fetch(self, dask_future: DaskFuture, settled: Callable[[], bool]) -> object:
        """A finished task's reply, fetched in attempts of at most ``FETCH_TIMEOUT`` seconds.

        Dask's client batches the fetches asked for at the same moment into one
        request, and a request that includes a result held by a frozen worker
        never returns, taking the others with it. A timed-out attempt cancels
        that request; a fetch caught up in someone else's cancelled request
        retries at once, one that timed out itself backs off first (so that the
        two do not join again). Attempts stop once another copy of the
        evaluation has completed the caller, or the cluster is lost or closed.
        """
        while True:
            try:
                return dask_future.result(timeout=FETCH_TIMEOUT)
            except TimeoutError:  # before OSError: TimeoutError is one
                backoff = FETCH_TIMEOUT / 2
            except CancelledError:
                if settled():  # this copy was cancelled because another one won
                    raise ExecutorError("result no longer needed") from None
                if dask_future.status == "cancelled" or self._client.status != "running":
                    self._lost_connection()
                backoff = 0.0  # another fetch's cancelled request
            except (CommClosedError, OSError) as exc:
                # The scheduler went away between the task's end and the fetch.
                self._lost_connection(exc)
            if self._lost is not None:
                raise ExecutorLost(self._lost)
            if settled() or self._state == "closed":
                raise ExecutorError("result no longer needed")  # the caller is settled
            if backoff and self._stop.wait(backoff):
                raise self._closed_error()

    def _lost_connection(self, cause: BaseException | None = None) -> NoReturn:
        """Declare the scheduler lost (naming ``cause``'s type) and raise ``ExecutorLost``."""
        detail = f" ({type(cause).__name__})" if cause is not None else ""
        self._declare_lost(f"lost the connection to the Dask scheduler{detail}")
        raise ExecutorLost(self._lost or "lost") from None

    def _raise_failure(self, error: BaseException) -> NoReturn:
        """Raise what a task's exception means for the caller."""
        if isinstance(error, KilledWorker):
            self._declare_lost(f"an evaluation was on Dask workers that all died ({error}), "
                               "scheduler")
            raise ExecutorLost(self._lost or "lost")
        if isinstance(error, SandboxError):
            raise error
        raise ExecutorError(f"evaluation failed on a Dask worker: {type(error).__name__}: "
                            f"{error}")

    def _closed_error(self) -> ExecutorError:
        """What an evaluation cut by ``close()`` fails with: the loss that ended the run, if any."""
        if self._lost is not None:
            return ExecutorLost(self._lost)
        return PoolClosed("the remote sandbox pool was closed")

    def _declare_lost(self, why: str) -> None:
        if self._lost is None:
            self._lost = f"{why} at {self.address}"

    # --------------------------------------------------------------- watching
    def _watch(self) -> None:
        """Fail waiting evaluations when the client cannot reach a working cluster."""
        unhealthy_since: float | None = None
        while not self._stop.wait(WATCH_INTERVAL):
            with self._pending_lock:
                waiting = bool(self._pending)
            if not waiting:
                unhealthy_since = None
                continue
            problem, patience = self._health()
            if problem is None:
                unhealthy_since = None
                with contextlib.suppress(Exception):  # best effort: the next look retries
                    self._speculate()
                continue
            now = time.monotonic()
            unhealthy_since = unhealthy_since if unhealthy_since is not None else now
            if now - unhealthy_since >= patience:
                self._declare_lost(problem)
                self._fail_pending(ExecutorLost(self._lost or problem))

    def _health(self) -> tuple[str | None, float]:
        if self._lost is not None:
            return self._lost, 0.0
        if self._client.status != "running":
            return (f"the client could not reconnect for {DISCONNECTED_GRACE:g} s to the "
                    "Dask scheduler", DISCONNECTED_GRACE)
        try:
            workers = len(self._client.nthreads())
        except Exception as exc:  # the scheduler did not answer
            return f"no answer ({exc}) from the Dask scheduler", DISCONNECTED_GRACE
        if workers == 0:
            return (f"no worker was connected for {self.no_worker_timeout:g} s to the Dask "
                    "scheduler", self.no_worker_timeout)
        return None, 0.0

    def _speculate(self) -> None:
        """Start a second copy of evaluations stuck on one worker far beyond the usual time.

        Tasks are idempotent and the first copy to finish completes the caller's
        future (the other is cancelled), so nothing is recorded twice
        (:mod:`discover.executors.stragglers` decides which, and where).
        """
        if self.speculate_after is None:
            return
        # Apart from the rest: without heartbeats, speculation by time still works.
        with contextlib.suppress(Exception):
            self._heartbeats.update(worker_info(self._client), time.monotonic())
        with self._pending_lock:
            tasks = {id(t): t for t in self._pending.values() if not t.speculated}
        if not tasks:
            return
        processing = self._client.processing()
        if len(processing) < 2:
            return
        silent = self._heartbeats.silent
        now = time.monotonic()
        usual = statistics.median(self._durations) if self._durations else 0.0
        limit = max(self.speculate_after, 4.0 * usual)
        for task, others in stragglers(tasks.values(), processing, silent, now, limit,
                                       self.speculate_after, self._client.who_has):
            task.speculated = True
            self.speculated += 1
            self._launch(task, workers=others)

    def _fail_pending(self, exc: BaseException) -> None:
        with self._pending_lock:
            tasks = list({id(t): t for t in self._pending.values()}.values())
            self._pending.clear()
        for task in tasks:
            for dask_future in task.dask_futures:
                with contextlib.suppress(Exception):  # the scheduler may be unreachable
                    dask_future.cancel()
            if not task.future.done():
                task.future.set_exception(exc)

    # --------------------------------------------------------------- closing
    def close(self) -> None:
        """Cancel what is still queued and stop watching (the client stays open)."""
        with self._lock:
            self._state = "closed"
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        self._fail_pending(self._closed_error())
        self._fetchers.shutdown(wait=False, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """No local worker processes: the sandboxes live on the Dask workers."""
        return []

    @property
    def lost(self) -> str | None:
        """Why the cluster was declared lost, if it was."""
        return self._lost
