"""The warm worker: ``python -m sandbox.worker``, one per core, inside the sandbox.

Started by exec with a clean environment (never forked from the orchestrator,
whose memory holds API keys), it pre-imports numpy and the harness modules,
then serves requests from the orchestrator on stdin/stdout (see
:mod:`sandbox.protocol`). For each candidate it forks one short-lived child
(:mod:`sandbox.child`), which inherits the warm interpreter copy-on-write, so
a candidate costs a fork instead of an interpreter start.

A child is forked deep inside the handling of a request, so it first unwinds
its stack to :func:`main` (:class:`StartChild`): nothing of the request during
which it was forked (the previous candidate's source, payload blobs, replies)
stays reachable from it.

The worker is trusted code but runs inside the namespaces; it supervises each
child from outside (:mod:`sandbox.supervision`): the wall-clock deadline
(``SIGKILL`` to the child's whole process group), the output caps, and the
clean-up of anything left behind (the worker is a child subreaper, so orphans
come back to it and are killed). What a job is, and its limits, is
:mod:`sandbox.jobs`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import json
import os
import select
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sandbox import guard, jobs, protocol, seccomp
from sandbox.child import (
    SPARE_NAME,
    CandidateJob,
    ChildSetup,
    run_candidate,
    run_prepared,
    run_probe,
    set_name,
)
from sandbox.supervision import (
    READ_CHUNK,
    Spare,
    alive,
    discard,
    kill_children,
    watch,
)

PRELOAD = ("numpy", "math", "itertools", "functools", "heapq", "bisect", "collections",
           "random", "statistics", "operator", "typing", "dataclasses", "array", "string",
           "socket", "faulthandler", "traceback", "linecache")
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
MAX_PAYLOAD_SETS = 8
WORKER_NAME = "discover-worker"


class StartChild(BaseException):
    """Raised in a freshly forked child to leave the worker's request-handling frames.

    The fork happens deep inside the handling of a request (a spare is forked
    while the previous candidate runs), so the child's stack holds that
    request's data: its candidate's source, the reply, payload blobs. Raising
    this unwinds the child to :func:`main`, dropping every such frame, before
    :attr:`run` starts the child's own work from a stack with no request data.
    """

    def __init__(self, run: Callable[[], object]) -> None:
        super().__init__()
        self.run = run


class Worker:
    """State of one worker process."""

    def __init__(self, proto_in: int, proto_out: int, null_fd: int) -> None:
        self.proto_in = proto_in
        self.proto_out = proto_out
        self.null_fd = null_fd
        self.payload_sets: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.config: dict[str, Any] = {}
        self.modules_seen = 0
        self.spare: Spare | None = None

    # ------------------------------------------------------------------ setup
    def setup(self, config: dict[str, Any]) -> dict[str, Any]:
        """Apply the orchestrator's configuration and probe the isolation."""
        self.config = config
        for name in list(PRELOAD) + list(config.get("preload", [])):
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        os.makedirs(config["scratch"], exist_ok=True)
        arch = seccomp.current_architecture()
        if arch is not None:
            seccomp.build_filter(arch, os.getpid())  # warm the template cache
        gc.collect()
        gc.freeze()  # children then never touch (copy) these objects' GC headers
        facts = self._probe(attack=False)
        enforced = None
        if config["seccomp"]:
            status, _ = self._probe_status(attack=True)
            enforced = status == -signal.SIGSYS
        return {"status": "ready", "pid": os.getpid(), "ns": namespaces(),
                "probe": facts, "seccomp_enforced": enforced,
                "python": sys.version.split()[0]}

    def _child_setup(self, chan_w: int, out_w: int,
                     rlimits: tuple[tuple[int, int, int], ...] = ()) -> ChildSetup:
        cfg = self.config
        return ChildSetup(chan_fd=chan_w, out_fd=out_w, null_fd=self.null_fd,
                          scratch=cfg["scratch"], uid=cfg["uid"], gid=cfg["gid"],
                          seccomp=bool(cfg["seccomp"]), rlimits=rlimits)

    def _rlimits(self, time_limit: float, limits: dict[str, Any]
                 ) -> tuple[tuple[int, int, int], ...]:
        """``(resource, soft, hard)`` for one child, from the request's limits."""
        return jobs.child_rlimits(time_limit, limits, enabled=bool(self.config["rlimits"]),
                                  own_uid=self.config["uid"] is not None)

    def _probe_status(self, attack: bool) -> tuple[int, bytes]:
        chan_r, chan_w = os.pipe()
        limits = {"cpu_slack": 1.0, "memory_mb": 256, "open_files": 32, "threads": 1}
        setup = self._child_setup(chan_w, self.null_fd, self._rlimits(2.0, limits))
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(chan_r)
            run_probe(setup, attack)
        os.close(chan_w)
        data = bytearray()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            ready, _, _ = select.select([chan_r], [], [], deadline - time.monotonic())
            if not ready:
                break
            chunk = os.read(chan_r, READ_CHUNK)
            if not chunk:
                break
            data += chunk
        os.close(chan_r)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return code, bytes(data)

    def _probe(self, attack: bool) -> dict[str, Any]:
        code, data = self._probe_status(attack)
        try:
            facts = json.loads(data.decode() or "{}")
        except ValueError:
            facts = {"error": f"unreadable probe output {data[:200]!r}"}
        facts["exit"] = code
        return facts

    # ------------------------------------------------------------- evaluation
    def evaluate(self, header: dict[str, Any], blob: bytes) -> tuple[dict[str, Any], bytes]:
        """Run one candidate on one payload set; return the reply header and channel bytes."""
        key = header["payloads"]
        if blob:
            self.payload_sets[key] = json.loads(blob)
            while len(self.payload_sets) > MAX_PAYLOAD_SETS:
                self.payload_sets.popitem(last=False)
        if key not in self.payload_sets:
            return {"id": header["id"], "status": "missing"}, b""
        self.payload_sets.move_to_end(key)
        payloads = self.payload_sets[key]
        harness = importlib.import_module(header["harness"])
        allowed = frozenset(header["allowed_imports"])
        for name in allowed:  # import as the worker, so children need no file access
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        guard.prepare(allowed)  # the candidate's module views, inherited by every child
        if blob or len(sys.modules) != self.modules_seen:
            # Frozen objects are skipped by the children's garbage collector, which
            # would otherwise touch (and so copy) every page holding payloads and
            # modules. Frozen only when something new arrived: frozen cyclic garbage
            # is never collected.
            gc.collect()
            gc.freeze()
            self.modules_seen = len(sys.modules)
        job = jobs.from_request(header, harness, payloads, allowed)
        spare, self.spare = self.spare, None
        if spare is not None and (key not in spare.keys or spare.modules != len(sys.modules)
                                  or not alive(spare.pid)):
            discard(spare)  # forked before this batch or these modules arrived, or dead
            spare = None
        reply, channel = self._supervise(job, float(header["time_limit"]), header["limits"],
                                         spare, key)
        reply["id"] = header["id"]
        return reply, channel

    def fork_spare(self) -> None:
        """Fork the next candidate's child now, while waiting for its request.

        The fork (a few milliseconds for a worker holding numpy) is then off the
        critical path; the spare detaches and waits for its job (see
        :func:`sandbox.child.run_prepared`). Only used when it has the job's
        payload set and modules; otherwise it is discarded and a child forked.
        """
        if self.spare is not None or not self.payload_sets:
            return
        chan_r, chan_w = os.pipe()
        out_r, out_w = os.pipe()
        job_r, job_w = os.pipe()
        setup = self._child_setup(chan_w, out_w)  # its limits come with the job
        sys.stderr.flush()
        # Named before the fork, so the spare carries the name from its first moment.
        set_name(SPARE_NAME)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(chan_r)
            os.close(out_r)
            os.close(job_w)
            raise StartChild(functools.partial(run_prepared, setup, job_r, self._resolve))
        set_name(WORKER_NAME)
        for fd in (chan_w, out_w, job_r):
            os.close(fd)
        self.spare = Spare(pid, chan_r, out_r, job_w, frozenset(self.payload_sets),
                           len(sys.modules))

    def _resolve(self, header: dict[str, Any]) -> CandidateJob | None:
        """In a spare: the job its header names, from this process's memory."""
        payloads = self.payload_sets.get(str(header.get("payloads")))
        harness = sys.modules.get(str(header.get("harness")))
        if payloads is None or harness is None:
            return None
        self.payload_sets = OrderedDict()  # other batches stay out of the child's reach
        return jobs.from_spare_header(header, harness, payloads)

    def _supervise(self, job: CandidateJob, time_limit: float, limits: dict[str, Any],
                   spare: Spare | None = None, key: str = "") -> tuple[dict[str, Any], bytes]:
        if spare is None:
            chan_r, chan_w = os.pipe()
            out_r, out_w = os.pipe()
            setup = self._child_setup(chan_w, out_w, self._rlimits(time_limit, limits))
            sys.stderr.flush()
            start = time.monotonic()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                os.close(chan_r)
                os.close(out_r)
                self.payload_sets.clear()  # other batches stay out of the child's reach
                raise StartChild(functools.partial(run_candidate, setup, job))
            os.close(chan_w)
            os.close(out_w)
        else:
            pid, chan_r, out_r = spare.pid, spare.chan_r, spare.out_r
            start = time.monotonic()
            job_header = jobs.spare_header(job, key, self._rlimits(time_limit, limits))
            with contextlib.suppress(OSError):  # a dead spare shows up as an exit below
                protocol.send(spare.job_w, job_header)
            os.close(spare.job_w)
        if self.config.get("prefork", True):
            # The next child is forked while this one runs: on a free core the fork
            # costs the next candidate nothing.
            self.fork_spare()
        reply, channel = watch(pid, chan_r, out_r, start, time_limit, limits)
        self._reap_leftovers()
        return reply, channel

    def _reap_leftovers(self) -> None:
        """Kill and reap anything the child left (orphans come back to this subreaper).

        With seccomp the child cannot create processes, so only zombies are
        reaped; without it, every child of the worker but the spare is killed,
        round after round (a killed orphan's own children come back too).
        """
        spare = self.spare.pid if self.spare is not None else None
        for _ in range(100):
            killed = [] if self.config.get("seccomp") else kill_children(spare)
            for pid in killed:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    return
                if pid == 0:
                    break
                if pid == spare and self.spare is not None:
                    discard(self.spare)  # the spare died (killed by a candidate)
                    self.spare = spare = None
            if not killed:
                return

    # ------------------------------------------------------------------- loop
    def serve(self) -> None:
        """Answer requests until ``exit`` or end of input."""
        while True:
            try:
                message = protocol.receive(self.proto_in)
            except protocol.ProtocolError:
                return
            op = message.header.get("op")
            if op == "exit":
                if self.spare is not None:
                    discard(self.spare)
                return
            if op == "init":
                reply: dict[str, Any] = self.setup(message.header)
                protocol.send(self.proto_out, reply)
            elif op == "eval":
                reply, channel = self.evaluate(message.header, message.blob)
                protocol.send(self.proto_out, reply, channel)
                if self.config.get("prefork", True):
                    self.fork_spare()
            else:
                protocol.send(self.proto_out, {"status": "error", "error": f"unknown op {op!r}"})


def namespaces() -> dict[str, int]:
    """Inode numbers of this process's namespaces (equal inodes: same namespace)."""
    out = {}
    for name in ("net", "pid", "mnt", "ipc", "uts", "user"):
        with contextlib.suppress(OSError):
            out[name] = os.stat(f"/proc/self/ns/{name}").st_ino
    return out


def main() -> None:
    """Entry point: take over stdin/stdout as the protocol pipes and serve."""
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    null_fd = os.open(os.devnull, os.O_RDWR)
    os.set_inheritable(null_fd, False)
    os.dup2(null_fd, 0)
    os.dup2(2, 1)  # a stray print must not corrupt the protocol
    seccomp.prctl(PR_SET_CHILD_SUBREAPER, 1)
    # Not dumpable (inherited by every child): where children keep the worker's uid, its
    # /proc entries (protocol pipes, the spare's job pipe, memory) stay out of their reach.
    seccomp.prctl(PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        Worker(proto_in, proto_out, null_fd).serve()
        return
    except StartChild as start:  # in a forked child only
        run = start.run
    # The exception and its traceback are gone with the except block, and with them
    # the frames of the request during which this child was forked (their objects are
    # freed by reference counting; none of them is part of a reference cycle).
    run()


if __name__ == "__main__":
    main()
