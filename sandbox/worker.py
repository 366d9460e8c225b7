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
child from outside: the wall-clock deadline (``SIGKILL`` to the child's whole
process group), the output caps, and the clean-up of anything left behind
(the worker is a child subreaper, so orphans come back to it and are killed).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import json
import math
import os
import resource
import select
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox import guard, protocol, seccomp
from sandbox.child import (
    CANDIDATE_FILENAME,
    SPARE_NAME,
    CandidateJob,
    ChildSetup,
    run_candidate,
    run_prepared,
    run_probe,
    set_name,
)
from sandbox.precheck import source_problems

PRELOAD = ("numpy", "math", "itertools", "functools", "heapq", "bisect", "collections",
           "random", "statistics", "operator", "typing", "dataclasses", "array", "string",
           "socket", "faulthandler", "traceback", "linecache")
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
MAX_PAYLOAD_SETS = 8
READ_CHUNK = 1 << 16
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


@dataclass(frozen=True)
class _Spare:
    """A child forked ahead of the next request, waiting for its job on ``job_w``."""

    pid: int
    chan_r: int
    out_r: int
    job_w: int
    keys: frozenset[str]
    """Payload sets in the spare's memory."""
    modules: int
    """``len(sys.modules)`` when it was forked (it has what was imported by then)."""


class Worker:
    """State of one worker process."""

    def __init__(self, proto_in: int, proto_out: int, null_fd: int) -> None:
        self.proto_in = proto_in
        self.proto_out = proto_out
        self.null_fd = null_fd
        self.payload_sets: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.config: dict[str, Any] = {}
        self.modules_seen = 0
        self.spare: _Spare | None = None

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
        cfg = self.config
        rlimits: list[tuple[int, int, int]] = []
        if cfg["rlimits"]:
            cpu = max(1, math.ceil(time_limit + float(limits["cpu_slack"])))
            address_space = vm_bytes() + int(limits["memory_mb"]) * 2**20
            rlimits = [
                (resource.RLIMIT_AS, address_space, address_space),
                (resource.RLIMIT_CPU, cpu, cpu + 1),
                (resource.RLIMIT_FSIZE, 0, 0),
                (resource.RLIMIT_NOFILE, int(limits["open_files"]), int(limits["open_files"])),
                (resource.RLIMIT_CORE, 0, 0),
                (resource.RLIMIT_MEMLOCK, 0, 0),
                (resource.RLIMIT_MSGQUEUE, 0, 0),
            ]
            if cfg["uid"] is not None:
                # Counted per uid: only meaningful when the child has its own uid.
                rlimits.append((resource.RLIMIT_NPROC, int(limits["threads"]),
                                int(limits["threads"])))
        return tuple(rlimits)

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
        job = CandidateJob(code=header["code"], function_name=header["function"],
                           harness=harness, payloads=payloads, allowed_imports=allowed,
                           max_items=int(header["limits"]["max_output_items"]),
                           refusal=_source_refusal(header["code"], allowed),
                           count_steps=bool(header.get("count_steps", False)),
                           step_limit=_step_limit(header))
        spare, self.spare = self.spare, None
        if spare is not None and (key not in spare.keys or spare.modules != len(sys.modules)
                                  or not _alive(spare.pid)):
            _discard(spare)  # forked before this batch or these modules arrived, or dead
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
        self.spare = _Spare(pid, chan_r, out_r, job_w, frozenset(self.payload_sets),
                            len(sys.modules))

    def _resolve(self, header: dict[str, Any]) -> CandidateJob | None:
        """In a spare: the job its header names, from this process's memory."""
        payloads = self.payload_sets.get(str(header.get("payloads")))
        harness = sys.modules.get(str(header.get("harness")))
        if payloads is None or harness is None:
            return None
        self.payload_sets = OrderedDict()  # other batches stay out of the child's reach
        return CandidateJob(code=str(header["code"]), function_name=str(header["function"]),
                            harness=harness, payloads=payloads,
                            allowed_imports=frozenset(header["allowed_imports"]),
                            max_items=int(header["max_items"]), refusal=str(header["refusal"]),
                            count_steps=bool(header.get("count_steps", False)),
                            step_limit=_step_limit(header))

    def _supervise(self, job: CandidateJob, time_limit: float, limits: dict[str, Any],
                   spare: _Spare | None = None, key: str = "") -> tuple[dict[str, Any], bytes]:
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
            job_header = {
                "code": job.code, "function": job.function_name,
                "harness": job.harness.__name__, "payloads": key,
                "allowed_imports": sorted(job.allowed_imports), "max_items": job.max_items,
                "refusal": job.refusal, "count_steps": job.count_steps,
                "step_limit": job.step_limit,
                "rlimits": [list(r) for r in self._rlimits(time_limit, limits)]}
            with contextlib.suppress(OSError):  # a dead spare shows up as an exit below
                protocol.send(spare.job_w, job_header)
            os.close(spare.job_w)
        if self.config.get("prefork", True):
            # The next child is forked while this one runs: on a free core the fork
            # costs the next candidate nothing.
            self.fork_spare()
        deadline = start + time_limit
        channel = bytearray()
        stdout = bytearray()
        stdout_total = 0
        cap_channel = int(limits["max_output_bytes"])
        cap_stdout = int(limits["max_stdout_bytes"])
        flood = int(limits["max_stdout_flood"])
        timed_out = overflow = flooded = exited = False
        pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
        open_fds = {chan_r, out_r}
        for fd in open_fds:
            os.set_blocking(fd, False)
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                timed_out = True
                break
            watch = [*open_fds] + ([pidfd] if pidfd is not None else [])
            ready, _, _ = select.select(watch, [], [], wait if pidfd is not None
                                        else min(wait, 0.005))
            for fd in ready:
                if fd == pidfd:
                    exited = True
                    continue
                eof = _drain(fd, channel if fd == chan_r else stdout)
                if eof:
                    open_fds.discard(fd)
            if pidfd is None and os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG
                                           | os.WNOWAIT) is not None:
                exited = True
            if len(stdout) > 2 * cap_stdout:
                stdout_total += len(stdout) - cap_stdout
                del stdout[:-cap_stdout]
            overflow = len(channel) > cap_channel
            flooded = stdout_total + len(stdout) > flood
            if exited or overflow or flooded:
                break
        if not exited:
            _kill_group(pid)
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.monotonic() - start
        _kill_group(pid)  # members that stayed in the child's group
        for fd in (chan_r, out_r):
            if fd in open_fds and not (overflow or flooded):
                _drain(fd, channel if fd == chan_r else stdout)
            os.close(fd)
        if pidfd is not None:
            os.close(pidfd)
        self._reap_leftovers()
        reply = {
            "status": "done",
            "elapsed": elapsed,
            "timed_out": timed_out,
            "overflow": overflow,
            "flood": flooded,
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu": usage.ru_utime + usage.ru_stime,
            "cpu_limit": max(1, math.ceil(time_limit + float(limits["cpu_slack"]))),
            "maxrss_kb": usage.ru_maxrss,
            "stdout": bytes(stdout[-cap_stdout:]).decode("utf-8", "replace"),
        }
        return reply, bytes(channel[:cap_channel]) if not overflow else b""

    def _reap_leftovers(self) -> None:
        """Kill and reap anything the child left (orphans come back to this subreaper).

        With seccomp the child cannot create processes, so only zombies are
        reaped; without it, every child of the worker but the spare is killed,
        round after round (a killed orphan's own children come back too).
        """
        spare = self.spare.pid if self.spare is not None else None
        for _ in range(100):
            killed = [] if self.config.get("seccomp") else self._kill_children(spare)
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
                    _discard(self.spare)  # the spare died (killed by a candidate)
                    self.spare = spare = None
            if not killed:
                return

    @staticmethod
    def _kill_children(spare: int | None) -> list[int]:
        me = str(os.getpid())
        killed = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == spare:
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if stat.rpartition(")")[2].split()[1] == me:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry), signal.SIGKILL)
                    killed.append(int(entry))
        return killed

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
                    _discard(self.spare)
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


def _step_limit(header: dict[str, Any]) -> int | None:
    """The job's step limit (absent from a header before step limits: None)."""
    value = header.get("step_limit")
    return None if value is None else int(value)


def _source_refusal(code: str, allowed: frozenset[str]) -> str:
    """The child's source rules, checked here (whatever the caller's pre-check did).

    Checked by the worker rather than the child: the worker's ``ast`` is warm, and
    the check costs the candidate none of its measured time.
    """
    if guard.UNGUARDED in allowed:
        return ""
    _, problems = source_problems(code, CANDIDATE_FILENAME)
    return "; ".join(problems)


def _drain(fd: int, sink: bytearray) -> bool:
    """Read what is available; True at end of file."""
    while True:
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return False
        if not chunk:
            return True
        sink += chunk
        if len(chunk) < READ_CHUNK:
            return False


def _alive(pid: int) -> bool:
    """True while the child ``pid`` has not exited (it is reaped if it has)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def _discard(spare: _Spare) -> None:
    """Kill and reap an unused spare child."""
    for fd in (spare.job_w, spare.chan_r, spare.out_r):
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(ProcessLookupError):
        os.kill(spare.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(spare.pid, 0)


def _kill_group(pid: int) -> None:
    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(target, signal.SIGKILL)


def vm_bytes() -> int:
    """Current virtual size of this process (what a forked child starts with)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


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
