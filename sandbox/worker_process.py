"""The orchestrator's handle on one worker process: start it, run jobs on it, stop it.

A worker is started through a :class:`~sandbox.launch.LaunchPlan` and must pass
its self-test before it is used; every message to and from it has a deadline, so
a frozen worker cannot block the orchestrator. A worker that times out, dies or
answers out of protocol is killed and its job fails alone. The pool
(:mod:`sandbox.pool`) keeps one handle per slot and restarts workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.base import CandidateSpec
from sandbox import protocol
from sandbox.channel import stream_budget
from sandbox.errors import SandboxError
from sandbox.launch import LaunchPlan
from sandbox.limits import Limits
from sandbox.outcome import ErrorInfo, Outcome, OutcomeStatus
from sandbox.payloads import PayloadSet
from sandbox.precheck import ALWAYS_ALLOWED_IMPORTS
from sandbox.text import storable
from sandbox.verdict import classify


@dataclass(frozen=True)
class Job:
    """One candidate to evaluate on a batch of payloads (see :meth:`SandboxPool.submit`)."""

    code: str
    spec: CandidateSpec
    payloads: PayloadSet
    time_limit: float
    count_steps: bool = False
    step_limit: int | None = None


class WorkerProcess:
    """One worker process and its pipes; used by one dispatcher thread at a time."""

    def __init__(self, plan: LaunchPlan, init: dict[str, Any], log_path: Path) -> None:
        self.plan = plan
        self.init = init
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.tasks = 0
        self.known: set[str] = set()

    def spawn(self, timeout: float) -> dict[str, Any]:
        """Start the process and wait for its self-test; return the ``ready`` message."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.plan.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                env=self.plan.env, close_fds=True, start_new_session=True, cwd="/")
        self.started = time.monotonic()
        # Non-blocking, so that a frozen worker cannot block the orchestrator
        # mid-write: every send and receive has a deadline.
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        try:
            protocol.send(self._in, self.init, deadline=time.monotonic() + timeout)
            message = protocol.receive(self._out, time.monotonic() + timeout)
        except (protocol.ProtocolError, OSError) as exc:
            self.kill()
            raise SandboxError(f"{self.plan.launcher} worker failed to start: {exc}; "
                               f"log: {self.log_tail()}") from None
        if message.header.get("status") != "ready":
            self.kill()
            raise SandboxError(f"{self.plan.launcher} worker failed its setup: "
                               f"{message.header}; log: {self.log_tail()}")
        return message.header

    @property
    def _in(self) -> int:
        assert self.proc is not None and self.proc.stdin is not None
        return self.proc.stdin.fileno()

    @property
    def _out(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.fileno()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def request(self, header: dict[str, Any], blob: bytes, deadline: float) -> protocol.Message:
        protocol.send(self._in, header, blob, deadline)
        return protocol.receive(self._out, deadline)

    def kill(self) -> None:
        """Kill the worker and everything in its session (the namespace goes with it)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not."""
        if self.proc is None:
            return
        if self.alive:
            with contextlib.suppress(OSError, protocol.ProtocolError):
                protocol.send(self._in, {"op": "exit"}, deadline=time.monotonic() + 1.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2.0)
        self.kill()

    def log_tail(self, limit: int = 1500) -> str:
        try:
            return self.log_path.read_bytes()[-limit:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def evaluate(self, job: Job, limits: Limits, level: str) -> tuple[Outcome, bool]:
        """Run ``job`` on this worker and classify the result.

        Parameters
        ----------
        job
            The candidate, its contract and payloads, and its time limit.
        limits
            The pool's per-child limits.
        level
            The pool's isolation level, recorded in the outcome.

        Returns
        -------
        tuple
            The outcome, and whether this worker is still usable: a worker that
            timed out, died or gave an unexpected reply has been killed.
        """
        spec, pset = job.spec, job.payloads
        header = {"op": "eval", "id": self.tasks, "code": job.code,
                  "function": spec.function_name, "harness": spec.harness,
                  # The same set the pre-check accepts (it adds __future__ and typing).
                  "allowed_imports": sorted(set(spec.allowed_imports) | ALWAYS_ALLOWED_IMPORTS),
                  "payloads": pset.key,
                  "time_limit": job.time_limit, "limits": limits.to_wire(),
                  "count_steps": job.count_steps, "step_limit": job.step_limit}
        # Transfer time of a fresh payload set is not the candidate's.
        deadline = (time.monotonic() + job.time_limit + limits.kill_grace
                    + len(pset.blob) / 20e6)
        try:
            blob = b"" if pset.key in self.known else pset.blob
            message = self.request(header, blob, deadline)
            if message.header.get("status") == "missing":
                message = self.request(header, pset.blob, deadline)
        except protocol.PeerTimeout:
            self.kill()
            return Outcome(OutcomeStatus.TIMEOUT, error=ErrorInfo(
                f"the worker did not answer within {job.time_limit:g} s + "
                f"{limits.kill_grace:g} s grace; it was killed and will be restarted"),
                n_payloads=pset.count, isolation_level=level), False
        except (protocol.ProtocolError, OSError) as exc:
            tail = self.log_tail(500)
            self.kill()
            return Outcome(OutcomeStatus.CRASHED, error=ErrorInfo(
                f"the worker died ({exc}); it will be restarted. log: {tail}"),
                n_payloads=pset.count, isolation_level=level), False
        self.tasks += 1
        if message.header.get("status") != "done":
            # Not the candidate's result: restart the worker and fail this candidate
            # alone (the reply is quoted as data, never trusted).
            self.kill()
            return Outcome(OutcomeStatus.CRASHED, error=ErrorInfo(storable(
                f"unexpected worker reply {str(message.header)[:300]}; the worker was "
                "restarted")), n_payloads=pset.count, isolation_level=level), False
        self.known.add(pset.key)
        return classify(message.header, message.blob, pset.count, job.code, job.time_limit,
                        level, limits.max_output_items,
                        stream_budget(limits.max_output_items, len(pset.blob)),
                        job.step_limit), True
