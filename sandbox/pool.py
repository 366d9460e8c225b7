"""The pool of warm workers that the search loop submits candidates to."""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from evaluators.base import CandidateSpec
from sandbox.errors import SandboxError, SandboxUnavailable
from sandbox.isolation import IsolationReport, assess
from sandbox.launch import INSTALL_HINT, LaunchPlan, launcher_override
from sandbox.limits import ISOLATION_MODES, LAUNCHERS, IsolationMode, Layer, Limits
from sandbox.outcome import ErrorInfo, Outcome, OutcomeStatus
from sandbox.payloads import PayloadSet
from sandbox.precheck import precheck
from sandbox.startup import (
    SCRATCH_PREFIX,
    enforce_isolation,
    launcher_order,
    remove_stale_scratch,
    requested_layers,
    start_first_worker,
)
from sandbox.steps import check_step_limit
from sandbox.worker_process import Job, WorkerProcess

NOBODY = 65534


class SandboxPool:
    """Warm, isolated workers that evaluate candidate programs.

    Parameters
    ----------
    workers
        Number of worker processes (one per core is right for CPU-bound candidates).
    isolation
        ``"auto"`` (use what the machine offers, warn about the rest),
        ``"strict"`` (refuse to start without every layer) or ``"none"``
        (process separation and limits only); see :data:`sandbox.limits.IsolationMode`.
    limits
        Per-child resource limits.
    launcher
        Force ``"bwrap"``, ``"unshare"`` or ``"plain"``; ``"auto"`` tries them in order
        (``strict``: the first two), unless ``DISCOVER_SANDBOX_LAUNCHER`` names one.
    disable
        Layers to switch off on purpose (tests of the degraded path, debugging).
    uid, gid
        Unprivileged ids for children (needs the orchestrator to run as root).
    harness_packages
        Top-level packages holding harness modules; made visible to the workers.
    max_tasks_per_worker, max_worker_age
        A worker is restarted after this many evaluations or seconds.
    start_timeout
        Seconds a worker may take to start and pass its self-test.
    prefork
        Fork each candidate's child ahead of its request (the default), so the
        fork is off the critical path; ``False`` forks on request.

    Examples
    --------
    >>> with SandboxPool(workers=2) as pool:                      # doctest: +SKIP
    ...     outcome = pool.run(code, problem.candidate_spec, payloads, time_limit=2.0)
    """

    def __init__(self, workers: int = 2, isolation: IsolationMode = "auto",
                 limits: Limits | None = None, *, launcher: str = "auto",
                 disable: Collection[Layer] = (), uid: int = NOBODY, gid: int = NOBODY,
                 harness_packages: Sequence[str] = ("evaluators",),
                 max_tasks_per_worker: int = 5000, max_worker_age: float = 3600.0,
                 start_timeout: float = 60.0, prefork: bool = True) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {ISOLATION_MODES}, got {isolation!r}")
        if launcher not in LAUNCHERS:
            raise ValueError(f"launcher must be one of {LAUNCHERS}, got {launcher!r}")
        if not all(isinstance(layer, Layer) for layer in disable):
            raise TypeError("disable must contain Layer members")
        if isolation == "strict" and disable:
            raise SandboxUnavailable(
                f"strict isolation cannot run with disabled layers: "
                f"{', '.join(sorted(layer.value for layer in disable))}")
        self.workers = workers
        self.isolation = isolation
        self.prefork = prefork
        self.limits = limits or Limits()
        self.launcher = launcher_override(launcher)
        self.disable = frozenset(disable)
        self.uid = uid
        self.gid = gid
        self.harness_packages = tuple(harness_packages)
        self.max_tasks_per_worker = max_tasks_per_worker
        self.max_worker_age = max_worker_age
        self.start_timeout = start_timeout
        self._queue: queue.SimpleQueue[tuple[Future[Outcome], Job] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._slots: list[WorkerProcess | None] = []
        self._report: IsolationReport | None = None
        self._plan: LaunchPlan | None = None
        self._init: dict[str, Any] = {}
        self._tmp: Path | None = None
        self._lock = threading.Lock()
        self._state = "new"

    # ----------------------------------------------------------------- set-up
    def __enter__(self) -> SandboxPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _launcher_order(self, requested: frozenset[Layer]) -> list[str]:
        return launcher_order(requested, self.launcher, self.isolation)

    def start(self) -> None:
        """Start the workers and check the isolation (idempotent).

        Raises
        ------
        SandboxUnavailable
            In strict mode, when a layer is missing.
        SandboxError
            When no worker can be started at all.
        """
        with self._lock:
            if self._state == "running":
                return
            if self._state == "closed":
                raise SandboxError("the pool is closed")
            self._start()
            self._state = "running"

    def _start(self) -> None:
        remove_stale_scratch()
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        (self._tmp / "scratch").mkdir()
        os.chmod(self._tmp, 0o755)  # children (another uid) must be able to enter scratch
        requested, reasons, uid = requested_layers(self.isolation, self.disable, self.uid)
        init = {"op": "init", "uid": uid, "gid": self.gid if uid is not None else None,
                "seccomp": Layer.SECCOMP in requested, "rlimits": Layer.RLIMITS in requested}
        launched, failures = start_first_worker(self._launcher_order(requested),
                                                self.harness_packages, self._tmp, init,
                                                self.prefork, self.start_timeout)
        if launched is None:
            self._cleanup_tmp()
            if self.isolation == "strict":
                raise SandboxUnavailable(
                    f"strict isolation unavailable: no private root could be built; "
                    f"{INSTALL_HINT}. Tried " + " | ".join(failures))
            raise SandboxError("no worker could be started: " + " | ".join(failures))
        first, self._plan, self._init = launched.worker, launched.plan, launched.init
        wanted_root = Layer.NAMESPACES in requested
        if Layer.NAMESPACES in requested and self._plan.launcher == "plain":
            requested = requested - {Layer.NAMESPACES}
            reasons[Layer.NAMESPACES] = "no launcher worked: " + " | ".join(failures)
        self._report = assess(self.isolation, self._plan.launcher, self._plan.private_root,
                              requested, launched.ready, uid, reasons, self._plan.visible)
        try:
            enforce_isolation(self._report, self.isolation, self.launcher, wanted_root, uid,
                              failures)
        except SandboxUnavailable:
            first.close()
            self._cleanup_tmp()
            raise
        self._slots = [first] + [None] * (self.workers - 1)
        try:
            for slot in range(1, self.workers):
                self._slots[slot] = self._spawn(slot)
        except SandboxError:
            self._shutdown_workers()
            self._cleanup_tmp()
            raise
        atexit.register(self.close)  # no orphaned workers or scratch if close() is forgotten
        for slot in range(self.workers):
            thread = threading.Thread(target=self._serve, args=(slot,),
                                      name=f"sandbox-worker-{slot}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _spawn(self, slot: int) -> WorkerProcess:
        assert self._plan is not None and self._tmp is not None
        worker = WorkerProcess(self._plan, self._init, self._tmp / f"worker-{slot}.log")
        worker.spawn(self.start_timeout)
        return worker

    @property
    def isolation_report(self) -> IsolationReport:
        """Which layers are in force (starts the pool if needed)."""
        if self._report is None:
            self.start()
        assert self._report is not None
        return self._report

    @property
    def isolation_level(self) -> str:
        """Short label recorded with every evaluation: ``full``, ``partial:...``, ``none``."""
        return self.isolation_report.level

    # --------------------------------------------------------------- running
    def submit(self, code: str, spec: CandidateSpec,
               payloads: Sequence[dict[str, Any]] | PayloadSet, time_limit: float, *,
               check: bool = True, count_steps: bool = False,
               step_limit: int | None = None) -> Future[Outcome]:
        """Queue one candidate for evaluation on a batch of payloads.

        Parameters
        ----------
        code
            The candidate module's source.
        spec
            The problem's candidate contract (function, parameters, harness, imports).
        payloads
            Instance payloads (``problem.payload(instance)``), or a prepared
            :class:`~sandbox.payloads.PayloadSet` (cheaper when reused).
        time_limit
            Wall-clock deadline in seconds for the whole batch.
        check
            Run :func:`~sandbox.precheck.precheck` first; a failure completes the
            future at once with ``precheck_failed``.
        count_steps
            Count the candidate's steps per payload
            (:attr:`Outcome.steps`; :class:`sandbox.steps.StepCounter`): a measure of
            its work that does not depend on the machine, at about three times the
            candidate's run time.
        step_limit
            With ``count_steps``: stop the candidate as soon as its steps on the batch
            so far exceed this; the outcome is then a ``timeout`` whose message begins
            "step limit reached" (:attr:`Outcome.step_limit_reached`). The counts of the
            payloads it finished are kept. A candidate is stopped iff its total would
            exceed the limit (the count only grows), unless it fails first.

        Returns
        -------
        Future[Outcome]
            Completed by a dispatcher thread.
        """
        pset, future = self._accept(code, spec, payloads, time_limit, check, count_steps,
                                    step_limit)
        if future.done():
            return future
        self.start()
        self._queue.put((future, Job(code, spec, pset, float(time_limit), count_steps,
                                      step_limit)))
        return future

    def _accept(self, code: str, spec: CandidateSpec,
                payloads: Sequence[dict[str, Any]] | PayloadSet, time_limit: float,
                check: bool, count_steps: bool = False, step_limit: int | None = None
                ) -> tuple[PayloadSet, Future[Outcome]]:
        """Check the arguments and make the caller's future, already completed with
        ``precheck_failed`` when the pre-check rejects the code (before start(): a
        rejected candidate costs no worker)."""
        if not (isinstance(time_limit, int | float) and math.isfinite(time_limit)
                and time_limit > 0):
            raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
        check_step_limit(step_limit, count_steps)
        pset = payloads if isinstance(payloads, PayloadSet) else PayloadSet.from_payloads(payloads)
        future: Future[Outcome] = Future()
        if check:
            verdict = precheck(code, spec, self.limits.max_code_bytes)
            if not verdict.ok:
                level = self._report.level if self._report is not None else ""
                future.set_result(Outcome(OutcomeStatus.PRECHECK_FAILED,
                                          error=ErrorInfo(verdict.message), n_payloads=pset.count,
                                          isolation_level=level))
        return pset, future

    def run(self, code: str, spec: CandidateSpec,
            payloads: Sequence[dict[str, Any]] | PayloadSet, time_limit: float, *,
            check: bool = True, count_steps: bool = False,
            step_limit: int | None = None) -> Outcome:
        """Evaluate one candidate and wait for the outcome (see :meth:`submit`)."""
        return self.submit(code, spec, payloads, time_limit, check=check,
                           count_steps=count_steps, step_limit=step_limit).result()

    def _serve(self, slot: int) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, job = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                outcome = self._execute(slot, job)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(outcome)

    def _worker_for(self, slot: int) -> WorkerProcess:
        worker = self._slots[slot]
        if worker is not None and worker.alive and worker.tasks < self.max_tasks_per_worker \
                and time.monotonic() - worker.started < self.max_worker_age:
            return worker
        if worker is not None:
            worker.close()
        self._slots[slot] = None
        worker = self._spawn(slot)
        self._slots[slot] = worker
        return worker

    def _execute(self, slot: int, job: Job) -> Outcome:
        worker = self._worker_for(slot)
        outcome, usable = worker.evaluate(job, self.limits, self.isolation_level)
        if not usable:
            self._slots[slot] = None  # killed: the next job on this slot starts a new one
        return outcome

    def interrupt(self) -> None:
        """Kill every worker now, from any thread: the evaluations they run end at once.

        Each ends as ``crashed`` (the worker died); the caller that interrupts knows
        why. The pool stays usable: a worker is started again for the next job.
        """
        for worker in list(self._slots):
            if worker is not None and worker.proc is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(worker.proc.pid, signal.SIGKILL)

    # --------------------------------------------------------------- closing
    def close(self) -> None:
        """Finish queued work, stop the workers and remove the scratch space."""
        with self._lock:
            if self._state != "running":
                self._state = "closed"
                return
            self._state = "closed"
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._shutdown_workers()
        self._cleanup_tmp()
        atexit.unregister(self.close)

    def _shutdown_workers(self) -> None:
        for worker in self._slots:
            if worker is not None:
                worker.close()
        self._slots = []

    def _cleanup_tmp(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def worker_pids(self) -> list[int]:
        """Host pids of the running worker processes (launcher processes for bwrap)."""
        return [w.proc.pid for w in self._slots if w is not None and w.proc is not None]
