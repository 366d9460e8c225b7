"""What runs inside a forked candidate child: lock it down, run the candidate, report.

The worker forks; the child calls :func:`run_candidate` (or :func:`run_probe`
when the worker tests its isolation) and never returns. The order matters:

1. new session and process group (so the supervisor can kill the whole group);
2. descriptors: stdin from ``/dev/null``, stdout/stderr into the capture pipe,
   the result channel on fd 3, everything else closed;
3. resource limits (``RLIMIT_AS``, ``CPU``, ``FSIZE=0``, ``NOFILE``, ``CORE=0``,
   ``NPROC`` under a dedicated uid);
4. the unprivileged uid/gid (drops every capability);
5. ``faulthandler`` on stderr (a crash leaves a Python stack);
6. the seccomp filter (needs the uid change to have happened: it refuses
   ``setuid``); a refused call kills the child at once;
7. the audit hook that names the candidate line of a refused call
   (:mod:`sandbox.refusal`), the candidate's restricted namespace
   (:mod:`sandbox.guard`), then the candidate.
"""

from __future__ import annotations

import ctypes
import faulthandler
import fcntl
import json
import linecache
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, NoReturn

from sandbox import protocol, refusal, seccomp
from sandbox.channel import (
    MEMORY_FRAME,
    ErrorKind,
    FrameKind,
    Unsendable,
    frame,
    output_frame,
)
from sandbox.guard import Refused, SourceRefused, candidate_builtins
from sandbox.steps import StepCounter, traced

# Bound once: a candidate that patches time.perf_counter changes nothing here. The
# per-payload times stay informational (a candidate can forge its frames); what
# gates runtime is the supervisor's measure (CPU time of the whole child).
_perf_counter = time.perf_counter

CHANNEL_FD = 3
JOB_FD = 4
"""A pre-forked child reads its job here (see :func:`run_prepared`)."""
SPARE_NAME = "discover-spare"
"""Process name of a pre-forked child waiting for its job."""
CANDIDATE_FILENAME = "<candidate>"
CANDIDATE_MODULE = "__candidate__"
EXIT_SETUP_FAILED = 71
PR_SET_NAME = 15


@dataclass(frozen=True)
class ChildSetup:
    """How to lock down one child.

    Parameters
    ----------
    chan_fd, out_fd, null_fd
        Result channel (write end), stdout/stderr capture (write end), ``/dev/null``.
    scratch
        Working directory of the child.
    uid, gid
        Unprivileged ids to switch to, or ``None`` to keep the worker's.
    seccomp
        Whether to load the system-call filter.
    rlimits
        ``(resource, soft, hard)`` triples to apply, lowest-wins.
    """

    chan_fd: int
    out_fd: int
    null_fd: int
    scratch: str
    uid: int | None
    gid: int | None
    seccomp: bool
    rlimits: tuple[tuple[int, int, int], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CandidateJob:
    """The candidate and its batch."""

    code: str
    function_name: str
    harness: ModuleType
    payloads: Sequence[dict[str, Any]]
    allowed_imports: frozenset[str]
    max_items: int
    refusal: str = ""
    """Why the worker's check of the source refused it (empty: it passed)."""
    count_steps: bool = False
    """Count the candidate's steps per payload (:class:`sandbox.steps.StepCounter`)."""
    step_limit: int | None = None
    """With ``count_steps``: stop once the steps of the batch so far exceed this
    (:func:`_stop_at_step_limit`)."""


def _write(data: bytes) -> None:
    """Write to the channel now (after anything still buffered)."""
    _flush()
    _raw_write(data)


def _raw_write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(CHANNEL_FD, view):]


# Output frames are buffered and written in chunks: one write per payload costs a
# system call (and a pass through the seccomp filter) each; chunks keep partial
# results flowing for diagnostics when a later payload hangs.
_FLUSH_BYTES = 64 * 1024
_FLUSH_SECONDS = 0.02
_pending: list[bytes] = []
_pending_size = 0
_last_flush = 0.0


def _emit(data: bytes) -> None:
    global _pending_size
    _pending.append(data)
    _pending_size += len(data)
    if _pending_size >= _FLUSH_BYTES or _perf_counter() - _last_flush >= _FLUSH_SECONDS:
        _flush()


def _flush() -> None:
    global _pending_size, _last_flush
    if _pending:
        data = b"".join(_pending)
        _pending.clear()
        _pending_size = 0
        _raw_write(data)
    _last_flush = _perf_counter()


def _lock_down(setup: ChildSetup) -> None:
    _detach(setup)
    _restrict(setup)


def _detach(setup: ChildSetup, keep_fd: int | None = None) -> None:
    """Own session and process group; descriptors 0-3 only (and ``keep_fd`` as fd 4)."""
    os.setsid()
    # Move the sources above the targets first, so no dup2 overwrites a source.
    null, out, chan = (fcntl.fcntl(fd, fcntl.F_DUPFD, 16)
                       for fd in (setup.null_fd, setup.out_fd, setup.chan_fd))
    if keep_fd is not None:
        os.dup2(fcntl.fcntl(keep_fd, fcntl.F_DUPFD, 16), JOB_FD)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.dup2(chan, CHANNEL_FD)
    os.closerange(CHANNEL_FD + 1 if keep_fd is None else JOB_FD + 1, 1 << 16)
    os.chdir(setup.scratch)


def _restrict(setup: ChildSetup) -> None:
    """Limits, the unprivileged ids, fresh streams, fault handler, then seccomp (last)."""
    for res, soft, hard in setup.rlimits:
        _, cur_hard = resource.getrlimit(res)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
        resource.setrlimit(res, (min(soft, hard), hard))
    if setup.gid is not None:
        os.setgroups([])
        os.setresgid(setup.gid, setup.gid, setup.gid)
    if setup.uid is not None:
        os.setresuid(setup.uid, setup.uid, setup.uid)
    # Fresh stream objects: the worker's may hold buffered bytes of its own.
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
    faulthandler.enable(file=2, all_threads=False)
    for sig in (signal.SIGXCPU, signal.SIGXFSZ, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    if setup.seccomp:
        seccomp.install(os.getpid())


def _error_frame(index: int, exc: BaseException) -> bytes:
    kind = ErrorKind.EXCEPTION
    cause: BaseException | None = exc
    while cause is not None:  # a refusal re-raised as another error is still one
        if isinstance(cause, Refused):
            kind = ErrorKind.FORBIDDEN
            break
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, MemoryError):
        kind = ErrorKind.MEMORY
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<exception message could not be printed>"
    try:
        lines = traceback.format_exception(exc)
        tb = [part for line in lines for part in line.rstrip("\n").split("\n")][-16:]
    except BaseException:
        tb = []
    return frame(FrameKind.ERROR, {"i": index, "kind": kind.value,
                                   "type": type(exc).__name__, "msg": message[:2000], "tb": tb})


def _finish(code: int) -> NoReturn:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def run_candidate(setup: ChildSetup, job: CandidateJob) -> NoReturn:
    """Lock down, run the candidate on every payload, report over the channel; exit."""
    code = 0
    try:
        code = _run_candidate(setup, job)
    except BaseException:  # e.g. the channel closed under us: nothing left to report
        code = 70
    finally:
        _finish(code)


def run_prepared(setup: ChildSetup, job_fd: int,
                 resolve: Callable[[dict[str, Any]], CandidateJob | None]) -> NoReturn:
    """A pre-forked child: detach, wait for the job on ``job_fd``, then run it as usual.

    The worker forks the next child while it waits for the next request, so the
    fork is off the candidate's critical path. Until the job arrives the child
    runs only this trusted code; the job (a JSON header from the worker) names
    the candidate, its payload set (already in this process's memory: the worker
    only uses a spare that has it) and the resource limits, which are applied,
    with the uid change and seccomp, before the candidate's code is compiled.
    ``resolve`` maps the header to the job; ``None`` ends the child.
    """
    code = 0
    try:
        _detach(setup, keep_fd=job_fd)
        try:
            header = protocol.receive(JOB_FD).header
        except protocol.ProtocolError:  # closed unused: the worker discarded this spare
            os._exit(0)
        os.close(JOB_FD)
        job = resolve(header)
        if job is None:
            os._exit(0)
        rlimits = tuple((int(r), int(soft), int(hard)) for r, soft, hard in header["rlimits"])
        setup = replace(setup, chan_fd=CHANNEL_FD, out_fd=1, null_fd=0, rlimits=rlimits)
        set_name("discover-child")
        code = _run_candidate(setup, job, detached=True)
    except BaseException:
        code = 70
    finally:
        _finish(code)


def set_name(name: str) -> None:
    """The process name shown by ps and /proc (a spare is recognisable while it waits)."""
    # prctl, not /proc/self/comm: the worker is not dumpable, so its /proc files belong
    # to root and an unprivileged worker may not write them.
    ctypes.CDLL(None).prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def _run_candidate(setup: ChildSetup, job: CandidateJob, detached: bool = False) -> int:
    try:
        if detached:
            _restrict(setup)
        else:
            _lock_down(setup)
    except BaseException as exc:
        _write(frame(FrameKind.ERROR, {"i": -1, "kind": ErrorKind.SETUP.value,
                                       "type": type(exc).__name__, "msg": str(exc)[:500]}))
        return EXIT_SETUP_FAILED
    index = -1
    try:
        # Written at once, before the candidate's code exists: whatever the
        # candidate writes to the channel comes after it (see parse_report).
        _write(frame(FrameKind.STARTED))  # also starts the flush clock
        # The candidate sees only its restricted builtins and views of its allowed
        # modules; the worker checked the source rules, whatever the caller did.
        counter = (StepCounter(CANDIDATE_FILENAME, job.step_limit, _stop_at_step_limit)
                   if job.count_steps else None)
        allowed_builtins = candidate_builtins(job.allowed_imports)
        if counter is not None:  # sorting is charged (C work the tracer cannot see)
            allowed_builtins = {**allowed_builtins, "sorted": counter.counted_sorted()}
        namespace: dict[str, Any] = {"__name__": CANDIDATE_MODULE,
                                     "__builtins__": allowed_builtins}
        if job.refusal:  # the worker checked the source (warm, off this child's clock)
            raise SourceRefused(job.refusal)
        linecache.cache[CANDIDATE_FILENAME] = (len(job.code), None,
                                               job.code.splitlines(True), CANDIDATE_FILENAME)
        refusal.install_hook(CANDIDATE_FILENAME)
        exec(compile(job.code, CANDIDATE_FILENAME, "exec"), namespace)
        function = namespace.get(job.function_name)
        if not callable(function):
            raise NameError(f"the module does not define a function `{job.function_name}`")
        call = job.harness.call
        for index, payload in enumerate(job.payloads):
            if counter is not None:
                counter.next_payload()
            start = _perf_counter()
            with traced(counter.tracer if counter is not None else None):
                result = call(function, payload)
            elapsed = _perf_counter() - start
            try:
                data = output_frame(index, elapsed, result, job.max_items)
            except (Unsendable, RecursionError) as exc:
                _write(frame(FrameKind.UNSENDABLE, {"i": index, "t": elapsed,
                                                    "why": str(exc)[:500]}))
                return 0
            _emit(data)
            if counter is not None:
                _emit(frame(FrameKind.STEPS, {"i": index, "s": counter.count}))
            del result, data
        _write(frame(FrameKind.DONE))
    except MemoryError as exc:
        # Write the pre-encoded frame first: building a detailed one may itself fail.
        try:
            _flush()
        except MemoryError:
            _pending.clear()
        _raw_write(MEMORY_FRAME)
        traceback.clear_frames(exc.__traceback__)  # drop the locals that filled memory
        _write(_error_frame(index, exc))
    except BaseException as exc:
        _write(_error_frame(index, exc))
    return 0


def _stop_at_step_limit(counter: StepCounter) -> NoReturn:
    """Report the step limit and end the child: called by the tracer as the count passes it.

    Ending here, inside the trace function, is what makes the limit hold: CPython
    removes a trace function that raises, so the :class:`~sandbox.steps.StepLimitReached`
    it would raise next could be caught by the candidate, which would then go on
    untraced. Earlier payloads' outputs and counts are still buffered and go first.
    """
    sys.settrace(None)
    code = 0
    try:
        _write(frame(FrameKind.ERROR, {"i": counter.payload, "kind": ErrorKind.STEP_LIMIT.value,
                                       "s": counter.total}))
    except BaseException:  # the channel closed under us: nothing left to report
        code = 70
    _finish(code)


def _proc_status() -> dict[str, str]:
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def run_probe(setup: ChildSetup, attack: bool) -> NoReturn:
    """Lock down like a candidate child, then report what holds.

    With ``attack=False`` the child writes a JSON object of facts (ids,
    capabilities, seccomp mode, limits, the visible root) to the channel. With
    ``attack=True`` it opens a socket, which a working seccomp filter refuses
    by killing the child with ``SIGSYS``.
    """
    try:
        _lock_down(setup)
        if attack:
            import socket

            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            _write(b"socket allowed")
            os._exit(0)
        status = _proc_status()
        limits = {name: resource.getrlimit(getattr(resource, name))
                  for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE",
                               "RLIMIT_NPROC", "RLIMIT_CORE")}
        facts = {
            "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
            "groups": os.getgroups(), "cap_eff": status.get("CapEff", ""),
            "no_new_privs": status.get("NoNewPrivs", ""), "seccomp": status.get("Seccomp", ""),
            "rlimits": limits, "root": sorted(os.listdir("/"))[:50], "cwd": os.getcwd(),
        }
        _write(json.dumps(facts).encode())
    except BaseException as exc:
        _write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
    os._exit(0)
